#pragma once
// Stateless NONCEs for the long-term credential mechanism (RFC 8489 §9.2): the issue time in seconds and an
// HMAC-SHA256 over it and the client's address, keyed by a per-process secret. A nonce is accepted only from
// the client it was issued to and only within its lifetime, so a captured nonce cannot be replayed from
// elsewhere or later; the server keeps no table that a flood of requests could grow.
//
// Every nonce starts with RFC 8489's nonce cookie and security feature set (§9.2): "obMatJos2", then the
// 24-bit set in base64 with bits 0 (password algorithms) and 1 (username anonymity) on, "wAAA". It tells
// clients they may pick SHA-256 keys and send USERHASH; the PASSWORD-ALGORITHMS a 401 carries are then
// checked against downgrade.

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "stun/stun_address.hpp"

namespace sg::turn {

using Time = std::chrono::steady_clock::time_point;

inline constexpr std::string_view k_nonce_prefix = "obMatJos2wAAA";

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
