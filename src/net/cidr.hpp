#pragma once
// Address ranges for access control ("198.18.0.0/15", "2001:2::/48", or a single address).

#include <asio/ip/address.hpp>
#include <span>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace sg::net {

class Cidr {
public:
    // A bare address means a host route (/32 or /128). Host bits below the prefix must be zero, so that
    // "10.0.0.1/8" (probably a typo) is an error rather than a silently wider rule.
    static sg::Result<Cidr> parse(std::string_view text);

    // IPv4-mapped IPv6 clients (::ffff:a.b.c.d on a dual-stack socket) match IPv4 ranges.
    bool contains(const asio::ip::address& addr) const noexcept;
    std::string to_string() const;

private:
    asio::ip::address network_;
    unsigned prefix_ = 0;
};

// The client allow-list of the gateway's listeners: `addr` is in one of the ranges, or, with no ranges at
// all, a loopback address (a listener is never open to everyone by default).
bool allow_listed(std::span<const Cidr> allow, const asio::ip::address& addr) noexcept;

}  // namespace sg::net
