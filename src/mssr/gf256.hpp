#pragma once
// Arithmetic in GF(2^8), the field of byte-wise Reed-Solomon codes (reducing polynomial x^8 + x^4 + x^3 +
// x^2 + 1, 0x11d, with 2 as generator), for the Cauchy parity of key ADUs (cauchy_parity.hpp). Addition is
// XOR; multiplication goes through log and antilog tables built at compile time.

#include <cstdint>
#include <span>

#include "common/byte_io.hpp"

namespace sg::mssr::gf256 {

std::uint8_t mul(std::uint8_t a, std::uint8_t b) noexcept;
// The multiplicative inverse; `a` must not be 0 (0 is returned for it).
std::uint8_t inv(std::uint8_t a) noexcept;
// dst ^= c * src, octet by octet; `src` may be shorter than `dst` (zero padding).
void mul_add(std::span<std::uint8_t> dst, Bytes src, std::uint8_t c) noexcept;

}  // namespace sg::mssr::gf256
