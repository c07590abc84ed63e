#pragma once
// Stateless NONCEs for the long-term credential mechanism (RFC 8489 §9.2): the issue time in seconds and an
// HMAC-SHA256 over it and the client's address, keyed by a per-process secret. A nonce is accepted only from
// the client it was issued to and only within its lifetime, so a captured nonce cannot be replayed from
// elsewhere or later; the server keeps no table that a flood of requests could grow.

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "stun/stun_address.hpp"

namespace sg::turn {

using Time = std::chrono::steady_clock::time_point;

class NonceIssuer {
public:
    NonceIssuer(std::array<std::uint8_t, 32> secret, std::chrono::seconds lifetime) noexcept
        : secret_(secret), lifetime_(lifetime) {}

    std::string issue(Time now, const stun::Address& client) const;
    // False for a nonce we did not issue to this client, or one older than the lifetime.
    bool valid(std::string_view nonce, Time now, const stun::Address& client) const;

private:
    std::string mac(std::uint32_t issued, const stun::Address& client) const;

    std::array<std::uint8_t, 32> secret_;
    std::chrono::seconds lifetime_;
};

}  // namespace sg::turn
