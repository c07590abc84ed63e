#pragma once
// Small RTSP header values and the header-value syntax the other typed headers share.
//
// Syntax helpers (RFC 2616 §2.2, which RFC 2326 §15 and RFC 7826 §20 reuse): tokens, quoted-strings with
// quoted-pair escapes, and lists split at separators that are not inside quoted-strings.
// Headers: CSeq (RFC 2326 §12.17), Content-Base (§12.11), Public (§12.28) and Allow (§12.4) method lists,
// Require / Proxy-Require / Supported / Unsupported option-tag lists (§12.32, RFC 7826 §18.51),
// Content-Type (§12.16, RFC 2616 §3.7 media types).
//
// Parsers take one header *value* (the text after "Name:"), never throw, and bound every size and count.
// Formatters produce values the parsers accept again. Values taken from the network never contain
// control characters (parsers reject them), so formatting cannot inject CR/LF into a message.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "common/text.hpp"
#include "rtsp/url.hpp"  // k_max_url_length

namespace sg::rtsp {

// ---- header-value syntax -------------------------------------------------------------------------

using sg::is_token;  // common/text.hpp: RFC 2616 tokens, as RFC 2326 section 15 defines them
using sg::is_token_char;

// True for C0 controls other than horizontal tab, and DEL: characters no header value may carry.
constexpr bool is_forbidden_control(char c) noexcept {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && u != '\t') || u == 0x7f;
}

constexpr bool has_forbidden_control(std::string_view s) noexcept {
    for (const char c : s) {
        if (is_forbidden_control(c)) return true;
    }
    return false;
}

// Splits `value` at every `sep` outside quoted-strings; each item is trimmed of spaces and tabs. Empty
// items are kept (callers decide whether a list may contain null elements). Fails on an unterminated
// quoted-string or when there would be more than `max_items` items.
Result<std::vector<std::string_view>> split_unquoted(std::string_view value, char sep, std::size_t max_items);

// `s` must be exactly one quoted-string; returns its content with quoted-pairs resolved. Rejects
// control characters.
Result<std::string> unquote(std::string_view s);

// Wraps `s` in double quotes, escaping '"' and '\'. Control characters other than tab are dropped
// (they cannot be carried in a header value).
std::string quote(std::string_view s);

// The value as a token when it is one, otherwise as a quoted-string.
std::string token_or_quoted(std::string_view s);

// ---- numbers -------------------------------------------------------------------------------------

// Strict decimal after trimming LWS: digits only, no sign, no overflow.
Result<std::uint32_t> parse_uint32_value(std::string_view value);
Result<std::uint64_t> parse_uint64_value(std::string_view value);

// ---- CSeq ----------------------------------------------------------------------------------------

Result<std::uint32_t> parse_cseq(std::string_view value);
std::string format_cseq(std::uint32_t cseq);

// ---- Content-Base --------------------------------------------------------------------------------

// The trimmed URL text: non-empty, at most k_max_url_length, no spaces or control characters.
// (Whether it is a valid RTSP URL is for rtsp/url.hpp to decide.)
Result<std::string> parse_content_base(std::string_view value);

// ---- token lists (Public, Allow, Require, Proxy-Require, Supported, Unsupported) ------------------

inline constexpr std::size_t k_max_list_items = 64;

// Comma-separated tokens; empty list elements are skipped (RFC 2616 §2.1 "#rule"). May return an empty
// list (RFC 7826 allows an empty Supported header).
Result<std::vector<std::string>> parse_token_list(std::string_view value);

// Public / Allow: like parse_token_list but at least one method is required. Methods are case-sensitive.
Result<std::vector<std::string>> parse_method_list(std::string_view value);

// Require / Proxy-Require / Supported / Unsupported option tags (e.g. "play.basic").
inline Result<std::vector<std::string>> parse_option_tags(std::string_view value) {
    return parse_token_list(value);
}

// Joins with ", ".
std::string format_token_list(std::span<const std::string> items);

bool contains_token(std::span<const std::string> items, std::string_view token) noexcept;

// ---- Content-Type --------------------------------------------------------------------------------

struct MediaTypeParam {
    std::string name;   // token, case preserved
    std::string value;  // unquoted

    friend bool operator==(const MediaTypeParam&, const MediaTypeParam&) = default;
};

struct ContentType {
    std::string type;     // e.g. "application"
    std::string subtype;  // e.g. "sdp"
    std::vector<MediaTypeParam> params;

    // Case-insensitive comparison of type and subtype (RFC 2616 §3.7).
    bool is(std::string_view type_name, std::string_view subtype_name) const noexcept;
    // The first parameter with this name (case-insensitive), or nullptr.
    const MediaTypeParam* find_param(std::string_view name) const noexcept;

    friend bool operator==(const ContentType&, const ContentType&) = default;
};

inline constexpr std::size_t k_max_media_type_params = 16;

Result<ContentType> parse_content_type(std::string_view value);
std::string to_header_value(const ContentType& content_type);

}  // namespace sg::rtsp
