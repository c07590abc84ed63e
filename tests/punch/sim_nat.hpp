#pragma once
// A NAT for the punch tests, in the two behaviours the integration test builds with nftables:
//   cone       one public port per private socket (endpoint-independent mapping): Linux `masquerade`
//   symmetric  a new public port per destination: at random (`masquerade fully-random`), or the last one
//              plus a fixed step (the sequential NATs port prediction is for; Linux has none, see
//              docs/nat-traversal.md)
// Both filter by address and port (only replies come in), as conntrack does; `filtering` loosens that.

#include <cstdint>
#include <map>
#include <set>
#include <utility>

#include "stun/stun_address.hpp"

namespace sg::punch {

enum class SimFiltering : std::uint8_t { address_and_port, address, none };

// How a symmetric Nat picks the next port: `step` > 0 adds it to the last one; 0 picks at random.
struct SimAllocation {
    int step = 1;
    std::uint32_t seed = 1;
};

class Nat {
public:
    Nat(std::uint32_t public_ip, bool symmetric, SimFiltering filtering = SimFiltering::address_and_port,
        SimAllocation allocation = {})
        : ip_(public_ip), symmetric_(symmetric), filtering_(filtering), allocation_(allocation) {}

    stun::Address outbound(const stun::Address& to) {
        const stun::Address key = symmetric_ ? to : stun::Address{};
        auto it = ports_.find(key);
        if (it == ports_.end()) it = ports_.emplace(key, next_port()).first;
        allowed_.insert({it->second, to});
        return stun::make_ipv4(ip_, it->second);
    }
    bool inbound_allowed(const stun::Address& to, const stun::Address& from) const {
        if (filtering_ == SimFiltering::none) return ports_in_use(to.port);
        if (filtering_ == SimFiltering::address) {
            for (const auto& [port, remote] : allowed_)
                if (port == to.port && remote.without_port() == from.without_port()) return true;
            return false;
        }
        return allowed_.count({to.port, from}) == 1;
    }
    bool owns(const stun::Address& a) const { return a.without_port() == stun::make_ipv4(ip_, 0); }

    // Another host behind the NAT opens a mapping: the next port moves on.
    void skip() { (void)next_port(); }

private:
    std::uint16_t next_port() {
        const std::uint16_t port = next_port_;
        if (allocation_.step > 0) {
            next_port_ = static_cast<std::uint16_t>(next_port_ + allocation_.step);
        } else {
            allocation_.seed = allocation_.seed * 1103515245U + 12345U;  // any spread will do
            next_port_ = static_cast<std::uint16_t>(20000 + (allocation_.seed >> 8) % 40000);
        }
        return port;
    }

    bool ports_in_use(std::uint16_t port) const {
        for (const auto& [key, p] : ports_)
            if (p == port) return true;
        return false;
    }

    std::uint32_t ip_;
    bool symmetric_;
    SimFiltering filtering_;
    SimAllocation allocation_;
    std::uint16_t next_port_ = 40000;
    std::map<stun::Address, std::uint16_t> ports_;
    std::set<std::pair<std::uint16_t, stun::Address>> allowed_;
};

}  // namespace sg::punch
