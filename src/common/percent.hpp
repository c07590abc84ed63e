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

// Encodes everything but RFC 3986 unreserved characters, so that any text (a SIP Call-ID with '/' or '@')
// is one path segment of an admin API URL.
inline std::string percent_encode(std::string_view text) {
    static constexpr char k_hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                                c == '-' || c == '.' || c == '_' || c == '~';
        if (unreserved) {
            out.push_back(c);
        } else {
            out.push_back('%');
            out.push_back(k_hex[byte >> 4U]);
            out.push_back(k_hex[byte & 0x0fU]);
        }
    }
    return out;
}

}  // namespace sg
