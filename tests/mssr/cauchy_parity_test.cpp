// The GF(2^8) arithmetic and the Cauchy Reed-Solomon parity of key ADUs (cauchy_parity.hpp): any `rows`
// parity fragments rebuild any as many lost data fragments, the short last one included.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include "mssr/cauchy_parity.hpp"
#include "mssr/fragmenter.hpp"
#include "mssr/gf256.hpp"

namespace sg::mssr {
namespace {

constexpr std::size_t k_fragment = 100;

std::vector<std::uint8_t> random_adu(std::size_t size, unsigned seed) {
    std::mt19937 rng(seed);
    std::vector<std::uint8_t> adu(size);
    for (auto& octet : adu)
        octet = static_cast<std::uint8_t>(rng());
    return adu;
}

std::vector<std::vector<std::uint8_t>> parities_of(const std::vector<std::uint8_t>& adu, std::size_t rows) {
    std::vector<std::vector<std::uint8_t>> out;
    for (std::size_t row = 0; row < rows; ++row)
        out.push_back(cauchy_parity_of(adu, k_fragment, rows, row));
    return out;
}

// The ADU as a receiver holds it with `missing` lost: zeros there.
std::vector<std::uint8_t> with_losses(std::vector<std::uint8_t> adu,
                                      const std::vector<std::size_t>& missing) {
    for (std::size_t index : missing) {
        const std::size_t offset = index * k_fragment;
        std::fill_n(adu.begin() + static_cast<std::ptrdiff_t>(offset),
                    std::min(k_fragment, adu.size() - offset), std::uint8_t{0});
    }
    return adu;
}

TEST(Gf256, MultipliesInTheReedSolomonField) {
    EXPECT_EQ(gf256::mul(2, 0x80), 0x1d);  // x * x^7 = x^8 = x^4 + x^3 + x^2 + 1
    EXPECT_EQ(gf256::mul(0, 0x53), 0);
    EXPECT_EQ(gf256::mul(1, 0x53), 0x53);
    for (unsigned a = 1; a < 256; ++a) {
        const auto x = static_cast<std::uint8_t>(a);
        EXPECT_EQ(gf256::mul(x, gf256::inv(x)), 1) << a;
        // Distributive over XOR, the field's addition.
        EXPECT_EQ(gf256::mul(x, 0x35 ^ 0xca), gf256::mul(x, 0x35) ^ gf256::mul(x, 0xca)) << a;
    }
    std::vector<std::uint8_t> dst{1, 2, 3};
    const std::vector<std::uint8_t> src{0x80, 0x01};  // shorter: zero padding leaves dst[2]
    gf256::mul_add(dst, src, 2);
    EXPECT_EQ(dst, (std::vector<std::uint8_t>{1 ^ 0x1d, 2 ^ 2, 3}));
}

// Every set of up to 3 lost fragments of 10 (the last one 37 octets), with any 3 of 3 rows in any order.
TEST(CauchyParity, AnyRowsRebuildAnyAsManyLostFragments) {
    const std::size_t rows = 3;
    const auto adu = random_adu(9 * k_fragment + 37, 1);
    const auto parities = parities_of(adu, rows);
    const std::size_t count = 10;
    int cases = 0;
    for (std::size_t a = 0; a < count; ++a) {
        for (std::size_t b = a; b < count; ++b) {
            for (std::size_t c = b; c < count; ++c) {
                std::vector<std::size_t> missing{a};
                if (b != a) missing.push_back(b);
                if (c != b) missing.push_back(c);
                // Rows taken from the end, so that one loss uses row 2 alone, two use rows 2 and 1.
                std::vector<ParityRow> given;
                for (std::size_t k = 0; k < missing.size(); ++k)
                    given.push_back(ParityRow{rows - 1 - k, parities[rows - 1 - k]});
                auto received = with_losses(adu, missing);
                ASSERT_TRUE(recover_cauchy(received, k_fragment, rows, missing, given));
                EXPECT_EQ(received, adu) << a << " " << b << " " << c;
                ++cases;
            }
        }
    }
    EXPECT_EQ(cases, 220);  // C(10,1) + C(10,2) + C(10,3)
}

// The code's largest ADU: data and parity fragments fill the field's 256 elements.
TEST(CauchyParity, RebuildsAtTheFieldsLimit) {
    const std::size_t rows = 16;
    const std::size_t count = k_cauchy_max_span - rows;
    const auto adu = random_adu(count * k_fragment - 1, 2);
    const auto parities = parities_of(adu, rows);
    std::vector<std::size_t> missing(count);
    std::iota(missing.begin(), missing.end(), 0);
    std::shuffle(missing.begin(), missing.end(), std::mt19937(3));
    missing.resize(rows);
    missing.back() = count - 1;  // the short last one too
    std::vector<ParityRow> given;
    for (std::size_t row = 0; row < rows; ++row)
        given.push_back(ParityRow{row, parities[row]});
    auto received = with_losses(adu, missing);
    ASSERT_TRUE(recover_cauchy(received, k_fragment, rows, missing, given));
    EXPECT_EQ(received, adu);
    // One fragment more than the field holds is refused.
    auto longer = random_adu((count + 1) * k_fragment, 4);
    EXPECT_FALSE(recover_cauchy(longer, k_fragment, rows, missing, given));
}

TEST(CauchyParity, RefusesWhatItCannotSolveAndLeavesTheAduAlone) {
    const std::size_t rows = 4;
    const auto adu = random_adu(12 * k_fragment, 5);
    const auto parities = parities_of(adu, rows);
    const std::vector<std::size_t> missing{1, 5, 9};
    const auto received = with_losses(adu, missing);
    auto attempt = received;
    // Two rows for three losses.
    const std::vector<ParityRow> two{ParityRow{0, parities[0]}, ParityRow{3, parities[3]}};
    EXPECT_FALSE(recover_cauchy(attempt, k_fragment, rows, missing, two));
    EXPECT_EQ(attempt, received);
    // A row given twice.
    const std::vector<ParityRow> repeated{ParityRow{0, parities[0]}, ParityRow{0, parities[0]},
                                          ParityRow{3, parities[3]}};
    EXPECT_FALSE(recover_cauchy(attempt, k_fragment, rows, missing, repeated));
    EXPECT_EQ(attempt, received);
    // A row past the code's, a fragment past the ADU, a parity of the wrong length.
    const std::vector<ParityRow> past{ParityRow{0, parities[0]}, ParityRow{1, parities[1]},
                                      ParityRow{4, parities[3]}};
    EXPECT_FALSE(recover_cauchy(attempt, k_fragment, rows, missing, past));
    const std::vector<ParityRow> three{ParityRow{0, parities[0]}, ParityRow{1, parities[1]},
                                       ParityRow{2, parities[2]}};
    EXPECT_FALSE(recover_cauchy(attempt, k_fragment, rows, std::vector<std::size_t>{1, 5, 12}, three));
    const std::vector<std::uint8_t> short_parity(k_fragment - 1);
    const std::vector<ParityRow> misshapen{ParityRow{0, parities[0]}, ParityRow{1, parities[1]},
                                           ParityRow{2, short_parity}};
    EXPECT_FALSE(recover_cauchy(attempt, k_fragment, rows, missing, misshapen));
    EXPECT_EQ(attempt, received);
    // With three rows it solves.
    ASSERT_TRUE(recover_cauchy(attempt, k_fragment, rows, missing, three));
    EXPECT_EQ(attempt, adu);
}

// Which code an ADU's parity uses: Cauchy only where both ends agreed, the ADU has several parity fragments
// and its fragments fit the field.
TEST(CauchyParity, IsUsedOnlyWhereItAddsSomethingAndFits) {
    EXPECT_EQ(parity_code(30, 4, true), ParityCode::cauchy);
    EXPECT_EQ(parity_code(30, 4, false), ParityCode::xor_groups);
    EXPECT_EQ(parity_code(30, 1, true), ParityCode::xor_groups);  // one XOR parity rebuilds any one already
    EXPECT_EQ(parity_code(227, 29, true), ParityCode::cauchy);
    EXPECT_EQ(parity_code(228, 29, true), ParityCode::xor_groups);
    // parity_of in either code.
    const auto adu = random_adu(5 * k_fragment, 6);
    EXPECT_EQ(parity_of(adu, k_fragment, 2, 1, ParityCode::cauchy), cauchy_parity_of(adu, k_fragment, 2, 1));
    EXPECT_NE(parity_of(adu, k_fragment, 2, 1, ParityCode::cauchy), parity_of(adu, k_fragment, 2, 1));
}

}  // namespace
}  // namespace sg::mssr
