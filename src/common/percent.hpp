#pragma once
// Percent-decoding (RFC 3986 §2.1) for URL paths and user information: shared by the RTSP URL parser, serve's
// media paths and the admin API's path parameters.

#include <optional>
#include <string>
#include <string_view>

namespace sg {

namespace detail {
constexpr int hex_digit(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}
}  // namespace detail

// What an encoded NUL (%00) means: no path or name may hold one, but a URL's user information is opaque
// bytes that must round-trip.
enum class EncodedNul : bool { refuse, keep };

// Decodes every %XX; nullopt for a truncated or malformed escape, or an encoded NUL unless kept. Other octets
// pass through as they are.
inline std::optional<std::string> percent_decode(std::string_view text, EncodedNul nul = EncodedNul::refuse) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out.push_back(text[i]);
            continue;
        }
        if (text.size() - i < 3) return std::nullopt;
        const int hi = detail::hex_digit(text[i + 1]);
        const int lo = detail::hex_digit(text[i + 2]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0 && nul == EncodedNul::refuse)) return std::nullopt;
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
    }
    return out;
}

}  // namespace sg
