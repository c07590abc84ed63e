#pragma once
// The rendezvous server's logic, pure and driven with an injected clock: it takes Register requests and
// answers them (wire.hpp). Two clients that name each other (A: id=a peer=b, B: id=b peer=a) are paired;
// from then on each answer carries the other's mapped address and how long to wait before punching, so
// both start within a few milliseconds of each other whatever their registration intervals.
//
// Bounded: at most `max_entries` registrations (508 beyond); an entry not refreshed within `entry_lifetime`
// is forgotten. With a `secret` only registrations signed with it (MESSAGE-INTEGRITY-SHA256, wire.hpp) are
// taken, others get 401 and are counted, and the answers are signed; without one the pair of names is the
// only secret (docs/nat-traversal.md).

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "punch/wire.hpp"

namespace sg::punch {

struct RendezvousOptions {
    std::size_t max_entries = 10000;
    std::chrono::milliseconds entry_lifetime{30000};
    // From pairing to punching: longer than a client's registration interval, so the first to register hears
    // of the pairing before the punch time.
    std::chrono::milliseconds punch_lead{1000};
    // Shared with every `streamgate punch` (--rendezvous-secret); empty: registrations are not authenticated.
    std::string secret;
};

struct RendezvousStats {
    std::uint64_t registrations = 0;
    std::uint64_t pairings = 0;
    std::uint64_t refused = 0;       // 400 and 508
    std::uint64_t unauthorized = 0;  // 401: no or a wrong MESSAGE-INTEGRITY-SHA256
};

class Rendezvous {
public:
    using Clock = std::chrono::steady_clock;

    explicit Rendezvous(RendezvousOptions options = {}) : options_(std::move(options)) {}

    struct Answer {
        std::vector<std::uint8_t> reply;  // empty: drop (not a Register request at all)
        std::optional<std::pair<std::string, std::string>> paired;  // a new pairing, for the log
        // Refused with 401, for the (rate-limited) log: "unsigned" or "wrong key"; empty otherwise.
        std::string_view unauthorized;
    };
    Answer on_datagram(Clock::time_point now, const stun::Address& from, Bytes datagram);

    void expire(Clock::time_point now);
    std::size_t size() const noexcept { return entries_.size(); }
    const RendezvousStats& stats() const noexcept { return stats_; }

private:
    struct Entry {
        stun::Address mapped;
        std::optional<stun::Address> relayed;
        std::optional<int> port_step;  // announced by a client behind a sequential symmetric NAT
        Clock::time_point last_seen;
        std::optional<Clock::time_point> paired_at;
    };
    using Key = std::pair<std::string, std::string>;  // (id, peer)

    RendezvousOptions options_;
    std::map<Key, Entry> entries_;
    RendezvousStats stats_;
};

}  // namespace sg::punch
