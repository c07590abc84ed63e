#include "mssr/gf256.hpp"

#include <algorithm>
#include <array>

namespace sg::mssr::gf256 {
namespace {

struct Tables {
    std::array<std::uint8_t, 512> exp{};  // doubled, so that exp[log a + log b] needs no reduction
    std::array<std::uint8_t, 256> log{};
};

constexpr Tables make_tables() {
    Tables t;
    unsigned x = 1;
    for (unsigned i = 0; i < 255; ++i) {
        t.exp[i] = static_cast<std::uint8_t>(x);
        t.log[x] = static_cast<std::uint8_t>(i);
        x <<= 1;
        if ((x & 0x100) != 0) x ^= 0x11d;
    }
    for (unsigned i = 255; i < t.exp.size(); ++i)
        t.exp[i] = t.exp[i - 255];
    return t;
}

constexpr Tables k_tables = make_tables();

}  // namespace

std::uint8_t mul(std::uint8_t a, std::uint8_t b) noexcept {
    if (a == 0 || b == 0) return 0;
    return k_tables.exp[std::size_t{k_tables.log[a]} + k_tables.log[b]];
}

std::uint8_t inv(std::uint8_t a) noexcept {
    if (a == 0) return 0;
    return k_tables.exp[255 - std::size_t{k_tables.log[a]}];
}

void mul_add(std::span<std::uint8_t> dst, Bytes src, std::uint8_t c) noexcept {
    const std::size_t n = std::min(dst.size(), src.size());
    if (c == 0) return;
    if (c == 1) {
        for (std::size_t i = 0; i < n; ++i)
            dst[i] = static_cast<std::uint8_t>(dst[i] ^ src[i]);
        return;
    }
    // One row of the multiplication table: a fragment is 500-1,400 octets, so 256 products up front are
    // cheaper than two table lookups and a branch per octet.
    std::array<std::uint8_t, 256> row;
    for (unsigned x = 0; x < row.size(); ++x)
        row[x] = mul(c, static_cast<std::uint8_t>(x));
    for (std::size_t i = 0; i < n; ++i)
        dst[i] = static_cast<std::uint8_t>(dst[i] ^ row[src[i]]);
}

}  // namespace sg::mssr::gf256
