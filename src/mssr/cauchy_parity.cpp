#include "mssr/cauchy_parity.hpp"

#include <algorithm>
#include <utility>

#include "mssr/fragmenter.hpp"
#include "mssr/gf256.hpp"

namespace sg::mssr {
namespace {

using Matrix = std::vector<std::vector<std::uint8_t>>;

// Inverts a square matrix over GF(2^8) by Gauss-Jordan elimination; false when it is singular (a Cauchy
// submatrix never is).
bool invert(Matrix& m, Matrix& inverse) {
    const std::size_t n = m.size();
    inverse.assign(n, std::vector<std::uint8_t>(n, 0));
    for (std::size_t i = 0; i < n; ++i)
        inverse[i][i] = 1;
    for (std::size_t col = 0; col < n; ++col) {
        std::size_t pivot = col;
        while (pivot < n && m[pivot][col] == 0)
            ++pivot;
        if (pivot == n) return false;
        std::swap(m[pivot], m[col]);
        std::swap(inverse[pivot], inverse[col]);
        const std::uint8_t scale = gf256::inv(m[col][col]);
        for (std::size_t k = 0; k < n; ++k) {
            m[col][k] = gf256::mul(m[col][k], scale);
            inverse[col][k] = gf256::mul(inverse[col][k], scale);
        }
        for (std::size_t row = 0; row < n; ++row) {
            const std::uint8_t factor = m[row][col];
            if (row == col || factor == 0) continue;
            gf256::mul_add(m[row], m[col], factor);
            gf256::mul_add(inverse[row], inverse[col], factor);
        }
    }
    return true;
}

}  // namespace

std::uint8_t cauchy_coefficient(std::size_t row, std::size_t data_index, std::size_t rows) noexcept {
    // x_j = j < rows <= y_i = rows + i, so x_j + y_i (XOR) is never 0.
    return gf256::inv(static_cast<std::uint8_t>(row ^ (rows + data_index)));
}

void add_cauchy_parity(std::span<std::uint8_t> parity, Bytes adu, std::size_t fragment_size, std::size_t rows,
                       std::size_t row) noexcept {
    if (fragment_size == 0) return;
    std::size_t index = 0;
    for (std::size_t offset = 0; offset < adu.size(); offset += fragment_size, ++index) {
        gf256::mul_add(parity, adu.subspan(offset, std::min(fragment_size, adu.size() - offset)),
                       cauchy_coefficient(row, index, rows));
    }
}

std::vector<std::uint8_t> cauchy_parity_of(Bytes adu, std::size_t fragment_size, std::size_t rows,
                                           std::size_t row) {
    std::vector<std::uint8_t> parity(parity_fragment_size(adu.size(), fragment_size), 0);
    add_cauchy_parity(parity, adu, fragment_size, rows, row);
    return parity;
}

bool recover_cauchy(std::span<std::uint8_t> adu, std::size_t fragment_size, std::size_t rows,
                    std::span<const std::size_t> missing, std::span<const ParityRow> parities) {
    const std::size_t e = missing.size();
    if (e == 0) return true;
    if (fragment_size == 0 || parities.size() < e) return false;
    const std::size_t count = fragment_count(adu.size(), fragment_size);
    if (rows + count > k_cauchy_max_span) return false;
    const std::size_t length = parity_fragment_size(adu.size(), fragment_size);
    for (std::size_t k = 0; k < e; ++k) {
        if (missing[k] >= count || parities[k].row >= rows || parities[k].data.size() != length) return false;
    }
    // The missing fragments are zeros in `adu`, so each parity row of the ADU as it stands is the sum of the
    // present fragments' terms; added to the sender's (addition is subtraction here) it leaves
    // s_a = sum over b of C[row_a][missing_b] * d_missing_b: e equations in e unknown fragments.
    std::vector<std::vector<std::uint8_t>> syndromes(e);
    Matrix m(e, std::vector<std::uint8_t>(e));
    for (std::size_t a = 0; a < e; ++a) {
        syndromes[a].assign(parities[a].data.begin(), parities[a].data.end());
        add_cauchy_parity(syndromes[a], adu, fragment_size, rows, parities[a].row);
        for (std::size_t b = 0; b < e; ++b)
            m[a][b] = cauchy_coefficient(parities[a].row, missing[b], rows);
    }
    Matrix inverse;
    if (!invert(m, inverse)) return false;  // repeated rows or indexes
    std::vector<std::uint8_t> rebuilt(length);
    for (std::size_t b = 0; b < e; ++b) {
        std::fill(rebuilt.begin(), rebuilt.end(), std::uint8_t{0});
        for (std::size_t a = 0; a < e; ++a)
            gf256::mul_add(rebuilt, syndromes[a], inverse[b][a]);
        const std::size_t offset = missing[b] * fragment_size;
        const std::size_t size = std::min(fragment_size, adu.size() - offset);
        std::copy_n(rebuilt.begin(), size, adu.begin() + static_cast<std::ptrdiff_t>(offset));
    }
    return true;
}

}  // namespace sg::mssr
