#pragma once
// Size units for limits, typed as std::size_t so products like 64 * k_kib never overflow int first.

#include <cstddef>

namespace sg {

inline constexpr std::size_t k_kib = 1024;
inline constexpr std::size_t k_mib = 1024 * k_kib;

}  // namespace sg
