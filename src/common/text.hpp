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

// C0 controls and DEL (RFC 5234 CTL).
constexpr bool is_ctl(char c) noexcept {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
}

// A token character: visible ASCII except the separators. RFC 9110 section 5.6.2 (tchar) for HTTP and RFC
// 2326 section 15 (which borrows RFC 2616's token) for RTSP define the same set.
constexpr bool is_token_char(char c) noexcept {
    constexpr std::string_view k_separators = "()<>@,;:\\\"/[]?={}";
    return c > 0x20 && c < 0x7f && k_separators.find(c) == std::string_view::npos;
}

constexpr bool is_token(std::string_view s) noexcept {
    if (s.empty()) return false;
    for (const char c : s) {
        if (!is_token_char(c)) return false;
    }
    return true;
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

// "FIRST-LAST", a UDP port range of at least two ports starting above 0 (RTP/RTCP pairs need two).
inline bool parse_port_range(std::string_view text, std::uint16_t& first_port,
                             std::uint16_t& last_port) noexcept {
    const auto first = parse_uint<std::uint16_t>(pop_token(text, '-'));
    const auto last = parse_uint<std::uint16_t>(text);
    if (!first || !last || *first == 0 || *last < *first + 1) return false;
    first_port = *first;
    last_port = *last;
    return true;
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
