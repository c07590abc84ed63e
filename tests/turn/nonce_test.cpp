#include "turn/nonce.hpp"

#include <gtest/gtest.h>

namespace sg::turn {
namespace {

TEST(Nonce, ValidForItsClientWithinItsLifetime) {
    std::array<std::uint8_t, 32> secret{1, 2, 3};
    const NonceIssuer issuer(secret, std::chrono::seconds{600});
    const Time t0 = Time{} + std::chrono::hours{1};
    const auto client = stun::make_ipv4(0xC6120001, 4000);
    const auto nonce = issuer.issue(t0, client);
    EXPECT_TRUE(issuer.valid(nonce, t0, client));
    EXPECT_TRUE(issuer.valid(nonce, t0 + std::chrono::seconds{599}, client));
    EXPECT_FALSE(issuer.valid(nonce, t0 + std::chrono::seconds{600}, client));  // replayed too late
    EXPECT_FALSE(issuer.valid(nonce, t0 - std::chrono::seconds{1}, client));    // from the future
    EXPECT_FALSE(issuer.valid(nonce, t0, stun::make_ipv4(0xC6120002, 4000)));   // another client
    auto forged = nonce;
    const std::size_t time_at = k_nonce_prefix.size();
    forged[time_at] = forged[time_at] == '0' ? '1' : '0';  // a later issue time with the old MAC
    EXPECT_FALSE(issuer.valid(forged, t0, client));
    EXPECT_FALSE(issuer.valid(nonce.substr(k_nonce_prefix.size()), t0, client));  // the cookie is required
    EXPECT_FALSE(issuer.valid("", t0, client));
    secret[0] = 9;
    EXPECT_FALSE(NonceIssuer(secret, std::chrono::seconds{600}).valid(nonce, t0, client));
}

TEST(Nonce, StartsWithTheCookieAndTheSecurityFeatures) {
    // RFC 8489 §9.2: "obMatJos2", then the 24-bit feature set in base64: password algorithms and username
    // anonymity, bits 0 and 1 counted from the most significant, are 0xC00000, "wAAA".
    const NonceIssuer issuer({}, std::chrono::seconds{600});
    const auto nonce = issuer.issue(Time{}, stun::make_ipv4(0xC6120001, 4000));
    EXPECT_TRUE(nonce.starts_with("obMatJos2wAAA")) << nonce;
}

}  // namespace
}  // namespace sg::turn
