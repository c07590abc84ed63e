#include "turn/nonce.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdio>

#include "common/hex.hpp"
#include "common/text.hpp"

namespace sg::turn {
namespace {

constexpr std::size_t k_time_digits = 8;
constexpr std::size_t k_mac_digits = 24;

std::uint32_t seconds_of(Time t) noexcept {
    return static_cast<std::uint32_t>(
        std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
}

}  // namespace

std::string NonceIssuer::mac(std::uint32_t issued, const stun::Address& client) const {
    std::array<std::uint8_t, 4 + 1 + 16> input{};
    input[0] = static_cast<std::uint8_t>(issued >> 24);
    input[1] = static_cast<std::uint8_t>(issued >> 16);
    input[2] = static_cast<std::uint8_t>(issued >> 8);
    input[3] = static_cast<std::uint8_t>(issued);
    input[4] = static_cast<std::uint8_t>(client.family);
    std::copy(client.ip.begin(), client.ip.end(), input.begin() + 5);
    std::array<std::uint8_t, EVP_MAX_MD_SIZE> digest{};
    unsigned size = 0;
    if (HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()), input.data(), input.size(),
             digest.data(), &size) == nullptr)
        return {};
    return hex_lower(std::span<const std::uint8_t>(digest.data(), k_mac_digits / 2));
}

std::string NonceIssuer::issue(Time now, const stun::Address& client) const {
    const std::uint32_t issued = seconds_of(now);
    char head[k_time_digits + 1] = {};
    std::snprintf(head, sizeof head, "%08x", issued);
    return std::string(k_nonce_prefix) + head + mac(issued, client);
}

bool NonceIssuer::valid(std::string_view nonce, Time now, const stun::Address& client) const {
    if (!nonce.starts_with(k_nonce_prefix)) return false;
    nonce.remove_prefix(k_nonce_prefix.size());
    if (nonce.size() != k_time_digits + k_mac_digits) return false;
    const auto issued = parse_hex<std::uint32_t>(nonce.substr(0, k_time_digits));
    if (!issued) return false;
    const std::string expected = mac(*issued, client);
    if (expected.empty() || nonce.substr(k_time_digits) != expected) return false;
    const std::uint32_t now_s = seconds_of(now);
    return now_s >= *issued && now_s - *issued < static_cast<std::uint32_t>(lifetime_.count());
}

}  // namespace sg::turn
