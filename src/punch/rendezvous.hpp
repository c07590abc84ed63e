#pragma once
// The rendezvous server's logic, pure and driven with an injected clock: it takes Register requests and
// answers them (wire.hpp). Two clients that name each other (A: id=a peer=b, B: id=b peer=a) are paired;
// from then on each answer carries the other's mapped address and how long to wait before punching, so
// both start within a few milliseconds of each other whatever their registration intervals.
//
// Bounded: at most `max_entries` registrations (508 beyond); an entry not refreshed within `entry_lifetime`
// is forgotten. Not authenticated: a name pair is the only secret (docs/nat-traversal.md).

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
};

struct RendezvousStats {
    std::uint64_t registrations = 0;
    std::uint64_t pairings = 0;
    std::uint64_t refused = 0;  // 400 and 508
};

class Rendezvous {
public:
    using Clock = std::chrono::steady_clock;

    explicit Rendezvous(RendezvousOptions options = {}) : options_(options) {}

    struct Answer {
        std::vector<std::uint8_t> reply;  // empty: drop (not a Register request at all)
        std::optional<std::pair<std::string, std::string>> paired;  // a new pairing, for the log
    };
    Answer on_datagram(Clock::time_point now, const stun::Address& from, Bytes datagram);

    void expire(Clock::time_point now);
    std::size_t size() const noexcept { return entries_.size(); }
    const RendezvousStats& stats() const noexcept { return stats_; }

private:
    struct Entry {
        stun::Address mapped;
        std::optional<stun::Address> relayed;
        Clock::time_point last_seen;
        std::optional<Clock::time_point> paired_at;
    };
    using Key = std::pair<std::string, std::string>;  // (id, peer)

    RendezvousOptions options_;
    std::map<Key, Entry> entries_;
    RendezvousStats stats_;
};

}  // namespace sg::punch
