#pragma once
// Small text helpers shared by the text protocols (RTSP, SDP, config). All are bounded, allocation-free
// and never throw.

#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>
#include <type_traits>

namespace sg {

constexpr char ascii_lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    }
    return true;
}

constexpr bool istarts_with(std::string_view s, std::string_view prefix) noexcept {
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

constexpr bool is_space_or_tab(char c) noexcept {
    return c == ' ' || c == '\t';
}

// Trims spaces and horizontal tabs (RFC 2326 LWS inside a header line) from both ends.
constexpr std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && is_space_or_tab(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && is_space_or_tab(s.back()))
        s.remove_suffix(1);
    return s;
}

// Returns the text before the first `sep` and removes it (and the separator) from `s`.
// When `sep` is absent the whole rest is returned and `s` becomes empty.
constexpr std::string_view pop_token(std::string_view& s, char sep) noexcept {
    const auto at = s.find(sep);
    const std::string_view token = s.substr(0, at);
    s = (at == std::string_view::npos) ? std::string_view{} : s.substr(at + 1);
    return token;
}

// Strict unsigned decimal: digits only (no sign, no spaces, no leading '+'), no overflow.
template <class T>
std::optional<T> parse_uint(std::string_view s) noexcept {
    static_assert(std::is_unsigned_v<T>);
    if (s.empty() || s.size() > std::numeric_limits<T>::digits10 + 1) return std::nullopt;
    T value{};
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value, 10);
    if (ec != std::errc{} || ptr != s.data() + s.size()) return std::nullopt;
    return value;
}

// Unsigned hexadecimal (no "0x" prefix), as used in Digest nc values and RTSP session ids.
template <class T>
std::optional<T> parse_hex(std::string_view s) noexcept {
    static_assert(std::is_unsigned_v<T>);
    if (s.empty() || s.size() > sizeof(T) * 2) return std::nullopt;
    T value{};
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value, 16);
    if (ec != std::errc{} || ptr != s.data() + s.size()) return std::nullopt;
    return value;
}

}  // namespace sg
