#pragma once
// Multicast groups of `streamgate serve` and of the gateway's mounts (RFC 2326 §12.39
// `destination`/`port`/`ttl`): one group address and one block of ports per presentation and address family,
// taken from the ranges the operator configured. Pure bookkeeping, no sockets: serve wraps it in its
// registry's lock, the proxy uses it on its one loop.
//
// An address range is a multicast prefix ("239.255.42.0/24", "ff15::42:0/112"); the group addresses are
// the prefix's addresses after its first (offset 1, 2, ...: the all-zero host part is never used, it reads
// as "the network" to people), at most k_max_groups_per_family of them. Ports come from one range shared
// by both families: each group gets 2 × tracks consecutive ports starting on an even one (RFC 3550 §11:
// RTP even, RTCP the next odd), so a receiver host that joins several groups never sees two streams on
// one port.

#include <asio/ip/address.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace sg::multicast {

struct MulticastRange {
    asio::ip::address network;  // host bits below the prefix are zero
    unsigned prefix = 0;

    // "239.255.42.0/24" or "ff15::/64"; the network must be a multicast address and its host bits zero.
    static Result<MulticastRange> parse(std::string_view text);
    std::string to_string() const;
    bool contains(const asio::ip::address& address) const noexcept;
};

struct MulticastSettings {
    std::optional<MulticastRange> v4;
    std::optional<MulticastRange> v6;
    std::uint8_t ttl = 16;  // IP_MULTICAST_TTL / IPV6_MULTICAST_HOPS and the answer's ttl=
    std::uint16_t port_first = 30000;
    std::uint16_t port_last = 30999;
    std::string interface;  // outgoing interface name; empty: the routing table decides

    // Closed by default: no range, no multicast (SETUP answers 461).
    bool enabled_for(bool family_v6) const noexcept { return family_v6 ? v6.has_value() : v4.has_value(); }
    // "239.255.42.0/24 ff15::42:0/112 ports 30000-30999 ttl 16 interface eth0", for logs and config diffs.
    std::string to_string() const;
};

struct MulticastLease {
    asio::ip::address group;
    std::uint16_t port_first = 0;  // even; track k: RTP port_first + 2k, RTCP port_first + 2k + 1
    std::uint16_t port_count = 0;  // 2 × tracks
    std::uint32_t offset = 0;      // of the group in its range

    friend bool operator==(const MulticastLease&, const MulticastLease&) = default;
};

class MulticastAllocator {
public:
    static constexpr std::uint32_t k_max_groups_per_family = 65535;

    explicit MulticastAllocator(MulticastSettings settings);

    const MulticastSettings& settings() const noexcept { return settings_; }

    // The lowest free group address of the family and the lowest free port block for `tracks` tracks;
    // nothing when the family has no range, its addresses are all in use or no port block is free.
    std::optional<MulticastLease> allocate(bool v6, std::size_t tracks);
    void release(const MulticastLease& lease);
    std::size_t leases() const noexcept { return used_v4_.size() + used_v6_.size(); }

private:
    std::optional<std::uint16_t> free_ports(std::uint32_t count) const;

    MulticastSettings settings_;
    std::set<std::uint32_t> used_v4_;  // offsets into the range
    std::set<std::uint32_t> used_v6_;
    std::set<std::pair<std::uint16_t, std::uint16_t>> used_ports_;  // (first, count)
};

// The address `offset` places after the range's network address (offset < the range's size).
asio::ip::address address_at(const MulticastRange& range, std::uint32_t offset);

}  // namespace sg::multicast
