#pragma once
// Lower-case hexadecimal text of bytes, two digits each: digests, nonces and cache keys.

#include <cstdint>
#include <span>
#include <string>

namespace sg {

inline std::string hex_lower(std::span<const std::uint8_t> bytes) {
    static constexpr char k_digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * bytes.size());
    for (const std::uint8_t b : bytes) {
        out.push_back(k_digits[b >> 4U]);
        out.push_back(k_digits[b & 0x0FU]);
    }
    return out;
}

}  // namespace sg
