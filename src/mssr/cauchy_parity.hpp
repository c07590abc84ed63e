#pragma once
// The Cauchy Reed-Solomon parity of a key ADU (docs/mssr.md, "Cauchy parity for key frames"). An ADU of
// `count` data fragments d_0 .. d_{count-1} gets `rows` parity fragments; parity fragment j is
//
//     p_j = sum over i of C[j][i] * d_i,   C[j][i] = 1 / (x_j + y_i),   x_j = j,   y_i = rows + i,
//
// computed in GF(2^8) (gf256.hpp) octet by octet, each fragment padded with zeros to the parity length (the
// first fragment's). Every square submatrix of a Cauchy matrix is invertible, so any `rows` parity fragments
// rebuild any `rows` lost data fragments, wherever they lie: the code is MDS. The interleaved XOR groups it
// replaces (fragmenter.hpp, parity_groups) rebuild one lost fragment per group, and a key frame of 30-70
// fragments at 5-10 % loss often loses two in one group while other groups' parity goes unused. The field
// has 256 elements, one per fragment of the ADU, data and parity together (k_cauchy_max_span).

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/byte_io.hpp"

namespace sg::mssr {

inline constexpr std::size_t k_cauchy_max_span = 256;

// C[row][data_index] for a code of `rows` parity rows; `rows + data_index` must be below k_cauchy_max_span.
std::uint8_t cauchy_coefficient(std::size_t row, std::size_t data_index, std::size_t rows) noexcept;

// parity += row `row` of the code over `adu` cut into fragments of `fragment_size` octets (a fragment the ADU
// lacks, zeros in a receiver's buffer, adds nothing).
void add_cauchy_parity(std::span<std::uint8_t> parity, Bytes adu, std::size_t fragment_size, std::size_t rows,
                       std::size_t row) noexcept;
// Parity fragment `row` of a whole ADU.
std::vector<std::uint8_t> cauchy_parity_of(Bytes adu, std::size_t fragment_size, std::size_t rows,
                                           std::size_t row);

struct ParityRow {
    std::size_t row = 0;
    Bytes data;  // the parity fragment as it arrived
};

// Rebuilds the data fragments `missing` (distinct indexes) of `adu`, whose octets there must still be zeros,
// from the first missing.size() of `parities` (distinct rows of a code of `rows`). False, with `adu`
// untouched, when there are fewer parities than missing fragments or an index, row or length does not fit.
bool recover_cauchy(std::span<std::uint8_t> adu, std::size_t fragment_size, std::size_t rows,
                    std::span<const std::size_t> missing, std::span<const ParityRow> parities);

}  // namespace sg::mssr
