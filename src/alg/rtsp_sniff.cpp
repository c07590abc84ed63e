#include "alg/rtsp_sniff.hpp"

#include <array>
#include <string_view>

#include "common/text.hpp"

namespace sg::alg {
namespace {

// The methods of RFC 2326 and RFC 7826 (case-sensitive). An RTSP client's first request is one of them, so a
// first write that cannot begin one is let go at once instead of waiting for a line end: a client of another
// protocol that sends a short token and waits for its answer (a one-byte probe, "HELO") would otherwise be
// held for the whole sniff timeout.
constexpr std::array<std::string_view, 12> k_methods = {"ANNOUNCE", "DESCRIBE", "GET_PARAMETER", "OPTIONS",
                                                        "PAUSE",    "PLAY",     "PLAY_NOTIFY",   "RECORD",
                                                        "REDIRECT", "SETUP",    "SET_PARAMETER", "TEARDOWN"};

// need_more while `method` (complete or not) can still be one of k_methods.
SniffVerdict check_method(std::string_view method, bool complete) noexcept {
    for (const auto known : k_methods) {
        if (complete ? method == known : known.starts_with(method)) {
            return complete ? SniffVerdict::rtsp : SniffVerdict::need_more;
        }
    }
    return SniffVerdict::other;
}

// Visible ASCII: what a Request-URI may hold.
bool is_uri_char(char c) noexcept {
    return c > 0x20 && c < 0x7f;
}

// Compares `text` with a prefix of `expected` (case-insensitively when asked): true while `text` could still
// become `expected`, or starts with all of it.
bool prefix_matches(std::string_view text, std::string_view expected, bool ignore_case) noexcept {
    const std::size_t n = text.size() < expected.size() ? text.size() : expected.size();
    const auto a = text.substr(0, n);
    const auto b = expected.substr(0, n);
    return ignore_case ? iequals(a, b) : a == b;
}

// The Request-URI alone: "*" or an absolute rtsp:// / rtspu:// URL (scheme case-insensitive, RFC 3986).
// need_more while it could still become one.
SniffVerdict check_uri(std::string_view uri, bool complete) noexcept {
    if (uri == "*") return SniffVerdict::rtsp;
    for (const std::string_view scheme : {std::string_view("rtsp://"), std::string_view("rtspu://")}) {
        if (!prefix_matches(uri, scheme, true)) continue;
        if (uri.size() > scheme.size()) return SniffVerdict::rtsp;
        if (!complete) return SniffVerdict::need_more;
    }
    return complete ? SniffVerdict::other : (uri.empty() ? SniffVerdict::need_more : SniffVerdict::other);
}

}  // namespace

SniffVerdict sniff_rtsp_request(Bytes input) noexcept {
    const std::string_view text(reinterpret_cast<const char*>(input.data()), input.size());
    // Method.
    std::size_t i = 0;
    while (i < text.size() && i < k_max_sniff_line && is_token_char(text[i]))
        ++i;
    if (i == text.size()) return check_method(text, false);
    if (i == 0 || text[i] != ' ' || check_method(text.substr(0, i), true) != SniffVerdict::rtsp)
        return SniffVerdict::other;
    // Request-URI.
    const std::size_t uri_start = ++i;
    while (i < text.size() && i < k_max_sniff_line && is_uri_char(text[i]))
        ++i;
    const std::string_view uri = text.substr(uri_start, i - uri_start);
    if (i == text.size()) {
        if (i >= k_max_sniff_line) return SniffVerdict::other;
        return check_uri(uri, false) == SniffVerdict::other ? SniffVerdict::other : SniffVerdict::need_more;
    }
    if (text[i] != ' ' || check_uri(uri, true) != SniffVerdict::rtsp) return SniffVerdict::other;
    // RTSP-Version and the line end (CRLF, or a bare LF, which RFC 2326 section 15.1 asks receivers to take).
    const std::string_view rest = text.substr(i + 1);
    for (const std::string_view version : {std::string_view("RTSP/1.0"), std::string_view("RTSP/2.0")}) {
        if (!prefix_matches(rest, version, false)) continue;
        if (rest.size() <= version.size()) {
            return i + 1 + rest.size() < k_max_sniff_line ? SniffVerdict::need_more : SniffVerdict::other;
        }
        const std::string_view tail = rest.substr(version.size());
        if (tail[0] == '\n') return SniffVerdict::rtsp;
        if (tail[0] != '\r') return SniffVerdict::other;
        if (tail.size() == 1) return SniffVerdict::need_more;
        return tail[1] == '\n' ? SniffVerdict::rtsp : SniffVerdict::other;
    }
    return SniffVerdict::other;
}

}  // namespace sg::alg
