#pragma once
// Which peers a TURN allocation may relay to (RFC 8656 §21.3: a relay must not become a way into the
// server's own network, the classic TURN SSRF). Refused always: unspecified, multicast and broadcast
// addresses, link-local ranges; loopback unless allow_loopback (tests and benchmarks on one machine);
// and every configured range (coturn's --denied-peer-ip). IPv4-mapped IPv6 peers are judged as IPv4.
//
// A range type of its own rather than net::Cidr: the TURN machine is pure and keys everything on
// stun::Address, and the fuzz build has no Asio.

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "stun/stun_address.hpp"

namespace sg::turn {

struct PeerRange {
    stun::Address network;  // port unused
    unsigned prefix = 0;

    // "10.0.0.0/8", "2001:db8::/32", or a single address. Host bits below the prefix must be zero.
    static Result<PeerRange> parse(std::string_view text);
    bool contains(const stun::Address& a) const noexcept;
};

struct PeerPolicy {
    std::vector<PeerRange> denied;
    bool allow_loopback = false;

    bool allowed(const stun::Address& peer) const noexcept;
};

}  // namespace sg::turn
