#pragma once
// The UDP relay behind a SOCKS5 UDP ASSOCIATE (RFC 1928 sections 4, 6 and 7).
//
// One association = one socket facing the client (in the client's family, on the address its TCP control
// connection arrived on; announced as BND.ADDR/BND.PORT) and up to two sockets facing targets, one per
// address family, opened on first use. Rules, from the RFC and the gateway issue:
//   - datagrams are taken only from the client's IP address, and only from its port once that is known
//     (DST.PORT of the request when non-zero, else the source port of the first valid datagram);
//   - a reply is relayed only from an address+port the client has sent to;
//   - FRAG != 0 is dropped (no reassembly: RFC 1928 section 7 allows that), as are malformed headers;
//   - DOMAINNAME targets are resolved off the event loop, cached per association;
//   - the association ends when its TCP control connection closes, or after `idle_timeout` without a
//     datagram relayed either way.
// Every drop is counted, per association (the session-end line) and process-wide (udp_relay_stats()).

#include <asio/awaitable.hpp>
#include <asio/ip/address.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "socks5/socks5.hpp"

namespace sg::socks {

// Process-wide counters, for metrics and for the lead's association limit.
struct UdpRelayStats {
    std::atomic<std::uint64_t> live{0};     // associations existing right now
    std::atomic<std::uint64_t> started{0};  // associations ever started
    std::atomic<std::uint64_t> datagrams_up{0};
    std::atomic<std::uint64_t> datagrams_down{0};
    std::atomic<std::uint64_t> dropped_source{0};        // not from the client's address (and port)
    std::atomic<std::uint64_t> dropped_fragment{0};      // FRAG != 0
    std::atomic<std::uint64_t> dropped_bad_header{0};    // malformed header, port 0, unspecified address
    std::atomic<std::uint64_t> dropped_unresolved{0};    // DOMAINNAME that does not resolve
    std::atomic<std::uint64_t> dropped_denied{0};        // destination (or a name's address) denied by a rule
    std::atomic<std::uint64_t> dropped_unknown_peer{0};  // reply from an endpoint the client never sent to
    std::atomic<std::uint64_t> dropped_send_failed{0};   // refused by the kernel (too big, no route, ...)
    std::atomic<std::uint64_t> dropped_oversize{0};      // longer than a receive slot (cannot happen on IP)
};

const UdpRelayStats& udp_relay_stats() noexcept;
std::uint64_t live_udp_associations() noexcept;

// Counts one association in udp_relay_stats().live for as long as it exists. Create it before anything
// else, right after checking a limit against live_udp_associations(), so the check and the count agree.
class UdpAssociationCount {
public:
    UdpAssociationCount() noexcept;
    ~UdpAssociationCount();
    UdpAssociationCount(const UdpAssociationCount&) = delete;
    UdpAssociationCount& operator=(const UdpAssociationCount&) = delete;
};

// Which source the client's datagrams must come from.
class ClientSourceFilter {
public:
    // `port` 0: unknown yet, latched by latch().
    ClientSourceFilter(const asio::ip::address& client, std::uint16_t port);

    bool accepts(const asio::ip::udp::endpoint& source) const noexcept;
    void latch(std::uint16_t port) noexcept;  // first one wins; later calls change nothing
    // Where replies go; nothing until the port is known.
    std::optional<asio::ip::udp::endpoint> endpoint() const;

private:
    asio::ip::address address_;
    std::uint16_t port_;
};

// The endpoints the client has sent to, i.e. those whose replies it gets. Bounded: past `limit` the oldest
// entry is forgotten (and its replies dropped from then on).
class PeerSet {
public:
    explicit PeerSet(std::size_t limit) : limit_(limit) {}
    bool add(const asio::ip::udp::endpoint& peer);  // true when new
    bool contains(const asio::ip::udp::endpoint& peer) const { return set_.count(peer) != 0; }
    std::size_t size() const noexcept { return set_.size(); }

private:
    std::size_t limit_;
    std::set<asio::ip::udp::endpoint> set_;
    std::deque<asio::ip::udp::endpoint> order_;
};

// Name -> address answers of one association, failures included (so a bad name costs one lookup, not one
// per datagram). Bounded: past `limit` the oldest entry goes.
class NameCache {
public:
    using Clock = std::chrono::steady_clock;
    struct Entry {
        std::optional<asio::ip::address> address;  // nothing: the name did not resolve
        Clock::time_point expires;
    };
    explicit NameCache(std::size_t limit) : limit_(limit) {}
    // Names compare case-insensitively (DNS does). Expired entries are not returned.
    const Entry* find(std::string_view name, Clock::time_point now) const;
    void put(std::string_view name, std::optional<asio::ip::address> address, Clock::time_point expires);
    std::size_t size() const noexcept { return entries_.size(); }

private:
    std::size_t limit_;
    std::map<std::string, Entry> entries_;
    std::deque<std::string> order_;
};

// Per-association totals for the session-end line. Bytes are payload bytes, SOCKS headers not counted.
struct UdpCounters {
    std::uint64_t bytes_up = 0;  // client -> targets
    std::uint64_t bytes_down = 0;
    std::uint64_t datagrams_up = 0;
    std::uint64_t datagrams_down = 0;
    std::uint64_t dropped = 0;  // all reasons
};

struct UdpRelayOptions {
    std::chrono::steady_clock::duration idle_timeout = std::chrono::seconds{300};
    // Whether a datagram may go to `destination` (as the client named it) at `address` (where it resolved
    // to); empty: everywhere. The access rules apply per datagram, not only to the ASSOCIATE request.
    std::function<bool(const Address& destination, const asio::ip::address& address)> admit;
};

struct UdpRelayResult {
    UdpCounters counters;
    std::string resolved;         // the target endpoints used, the first few of them ("-" when none)
    std::string_view end_reason;  // static text: "closed", "reset", "idle timeout", "relay socket error"
};

// Relays until the association ends (see the top of this file). `control` is only read from, to notice
// its end; `client_facing` must be open and bound. Both must outlive the call.
asio::awaitable<UdpRelayResult> run_udp_relay(asio::ip::tcp::socket& control,
                                              asio::ip::udp::socket& client_facing, ClientSourceFilter client,
                                              UdpRelayOptions options);

// The SOCKS form of a UDP endpoint (IPv4-mapped IPv6 shown as IPv4), for BND and reply headers.
Address to_socks_address(const asio::ip::udp::endpoint& endpoint);

}  // namespace sg::socks
