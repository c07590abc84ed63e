#include "rtsp/simple_headers.hpp"

#include "common/text.hpp"

namespace sg::rtsp {

namespace {

// Header values are single lines; this bounds every list/number parser here.
constexpr std::size_t k_max_value_length = 8192;

template <class T>
Result<T> parse_decimal(std::string_view value) {
    const auto number = parse_uint<T>(trim(value));
    if (!number) return fail("not a decimal number or out of range");
    return *number;
}

}  // namespace

Result<std::vector<std::string_view>> split_unquoted(std::string_view value, char sep,
                                                     std::size_t max_items) {
    std::vector<std::string_view> items;
    std::size_t start = 0;
    bool in_quotes = false;
    for (std::size_t i = 0; i < value.size(); ++i) {
        const char c = value[i];
        if (in_quotes) {
            if (c == '\\') {
                // A quoted-pair: the next character is literal, even a quote.
                if (i + 1 >= value.size()) return fail("unterminated quoted-string");
                ++i;
            } else if (c == '"') {
                in_quotes = false;
            }
        } else if (c == '"') {
            in_quotes = true;
        } else if (c == sep) {
            if (items.size() + 1 >= max_items) return fail("too many list items");
            items.push_back(trim(value.substr(start, i - start)));
            start = i + 1;
        }
    }
    if (in_quotes) return fail("unterminated quoted-string");
    if (items.size() >= max_items) return fail("too many list items");
    items.push_back(trim(value.substr(start)));
    return items;
}

Result<std::string> unquote(std::string_view s) {
    if (s.size() < 2 || s.front() != '"' || s.back() != '"') return fail("expected a quoted-string");
    std::string out;
    out.reserve(s.size() - 2);
    const std::string_view inner = s.substr(1, s.size() - 2);
    for (std::size_t i = 0; i < inner.size(); ++i) {
        char c = inner[i];
        if (c == '"') return fail("unescaped quote inside quoted-string");
        if (c == '\\') {
            if (i + 1 >= inner.size()) return fail("dangling escape in quoted-string");
            c = inner[++i];
        }
        if (is_forbidden_control(c)) return fail("control character in quoted-string");
        out.push_back(c);
    }
    return out;
}

std::string quote(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 2);
    out.push_back('"');
    for (const char c : s) {
        if (is_forbidden_control(c)) continue;
        if (c == '"' || c == '\\') out.push_back('\\');
        out.push_back(c);
    }
    out.push_back('"');
    return out;
}

std::string token_or_quoted(std::string_view s) {
    return is_token(s) ? std::string(s) : quote(s);
}

Result<std::uint32_t> parse_uint32_value(std::string_view value) {
    return parse_decimal<std::uint32_t>(value);
}

Result<std::uint64_t> parse_uint64_value(std::string_view value) {
    return parse_decimal<std::uint64_t>(value);
}

Result<std::uint32_t> parse_cseq(std::string_view value) {
    auto cseq = parse_uint32_value(value);
    if (!cseq) return fail("CSeq: not a 32-bit decimal number");
    return cseq;
}

std::string format_cseq(std::uint32_t cseq) {
    return std::to_string(cseq);
}

Result<std::string> parse_content_base(std::string_view value) {
    const std::string_view url = trim(value);
    if (url.empty()) return fail("Content-Base: empty");
    if (url.size() > k_max_url_length) return fail("Content-Base: too long");
    for (const char c : url) {
        if (c == ' ' || c == '\t' || is_forbidden_control(c)) return fail("Content-Base: space or control");
    }
    return std::string(url);
}

Result<std::vector<std::string>> parse_token_list(std::string_view value) {
    if (value.size() > k_max_value_length) return fail("list too long");
    // Tokens cannot contain quotes, so a plain split is exact; a quote simply fails the token check.
    std::vector<std::string> out;
    std::size_t elements = 0;
    while (!value.empty()) {
        const std::string_view item = trim(pop_token(value, ','));
        // Count null elements too, so ",,,,," cannot make us loop over an unbounded list.
        if (++elements > k_max_list_items * 2) return fail("too many list elements");
        if (item.empty()) continue;
        if (!is_token(item)) return fail("list element is not a token");
        if (out.size() >= k_max_list_items) return fail("too many list elements");
        out.emplace_back(item);
    }
    return out;
}

Result<std::vector<std::string>> parse_method_list(std::string_view value) {
    auto methods = parse_token_list(value);
    if (!methods) return methods;
    if (methods->empty()) return fail("empty method list");
    return methods;
}

std::string format_token_list(std::span<const std::string> items) {
    std::string out;
    for (const auto& item : items) {
        if (!out.empty()) out += ", ";
        out += item;
    }
    return out;
}

bool contains_token(std::span<const std::string> items, std::string_view token) noexcept {
    for (const auto& item : items) {
        if (item == token) return true;
    }
    return false;
}

bool ContentType::is(std::string_view type_name, std::string_view subtype_name) const noexcept {
    return iequals(type, type_name) && iequals(subtype, subtype_name);
}

const MediaTypeParam* ContentType::find_param(std::string_view name) const noexcept {
    for (const auto& p : params) {
        if (iequals(p.name, name)) return &p;
    }
    return nullptr;
}

Result<ContentType> parse_content_type(std::string_view value) {
    if (value.size() > k_max_value_length) return fail("Content-Type: too long");
    auto parts = split_unquoted(value, ';', k_max_media_type_params + 1);
    if (!parts) return fail(parts.error());
    std::string_view media = (*parts)[0];
    ContentType ct;
    const std::string_view type = trim(pop_token(media, '/'));
    const std::string_view subtype = trim(media);
    if (!is_token(type) || !is_token(subtype)) return fail("Content-Type: expected type/subtype");
    ct.type = type;
    ct.subtype = subtype;
    for (std::size_t i = 1; i < parts->size(); ++i) {
        std::string_view param = (*parts)[i];
        const auto eq = param.find('=');
        if (eq == std::string_view::npos) return fail("Content-Type: parameter without value");
        const std::string_view name = trim(param.substr(0, eq));
        const std::string_view raw = trim(param.substr(eq + 1));
        if (!is_token(name)) return fail("Content-Type: bad parameter name");
        MediaTypeParam p;
        p.name = name;
        if (!raw.empty() && raw.front() == '"') {
            auto text = unquote(raw);
            if (!text) return fail(text.error());
            p.value = std::move(*text);
        } else if (is_token(raw)) {
            p.value = raw;
        } else {
            return fail("Content-Type: bad parameter value");
        }
        ct.params.push_back(std::move(p));
    }
    return ct;
}

std::string to_header_value(const ContentType& content_type) {
    std::string out = content_type.type + "/" + content_type.subtype;
    for (const auto& p : content_type.params) {
        out += "; ";
        out += p.name;
        out += '=';
        out += token_or_quoted(p.value);
    }
    return out;
}

}  // namespace sg::rtsp
