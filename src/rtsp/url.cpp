#include "rtsp/url.hpp"

#include "common/percent.hpp"

#include "common/text.hpp"

namespace sg::rtsp {

namespace {

constexpr bool is_alpha(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
constexpr bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}
constexpr bool is_hex(char c) noexcept {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
constexpr bool is_unreserved(char c) noexcept {
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}
constexpr bool is_sub_delim(char c) noexcept {
    return std::string_view("!$&'()*+,;=").find(c) != std::string_view::npos;
}
// Bytes that may never appear raw in a URL we accept: controls, space, DEL.
constexpr bool is_forbidden(char c) noexcept {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f;
}

// User information may not hold raw spaces or controls (they would have been escaped).
std::optional<std::string> decode_userinfo(std::string_view s) {
    for (const char c : s)
        if (is_forbidden(c)) return std::nullopt;
    return percent_decode(s, EncodedNul::keep);
}

void percent_encode(std::string& out, std::string_view s) {
    constexpr std::string_view digits = "0123456789ABCDEF";
    for (const char c : s) {
        if (is_unreserved(c) || is_sub_delim(c)) {
            out.push_back(c);
        } else {
            const auto u = static_cast<unsigned char>(c);
            out.push_back('%');
            out.push_back(digits[u >> 4]);
            out.push_back(digits[u & 0x0f]);
        }
    }
}

// RFC 3986 dec-octet: no leading zeros, at most 255.
bool valid_ipv4(std::string_view s) noexcept {
    for (int i = 0; i < 4; ++i) {
        const auto octet = pop_token(s, '.');
        if (octet.empty() || octet.size() > 3 || (octet.size() > 1 && octet[0] == '0')) return false;
        const auto value = parse_uint<unsigned>(octet);
        if (!value || *value > 255) return false;
        if (i < 3 && s.empty()) return false;
    }
    return s.empty();
}

// RFC 3986 IPv6address: up to eight 16-bit groups, one "::" for a run of zero groups, and optionally an
// IPv4 address as the last 32 bits.
bool valid_ipv6(std::string_view s) noexcept {
    const std::size_t n = s.size();
    std::size_t i = 0;
    int groups = 0;
    bool compressed = false;
    if (n >= 2 && s[0] == ':' && s[1] == ':') {
        compressed = true;
        i = 2;
    } else if (n == 0 || s[0] == ':') {
        return false;
    }
    while (i < n) {
        std::size_t j = i;
        while (j < n && is_hex(s[j]))
            ++j;
        if (j < n && s[j] == '.') {
            if (!valid_ipv4(s.substr(i))) return false;
            groups += 2;
            break;
        }
        if (j == i || j - i > 4) return false;
        ++groups;
        i = j;
        if (i == n) break;
        if (s[i] != ':') return false;
        ++i;
        if (i < n && s[i] == ':') {
            if (compressed) return false;
            compressed = true;
            ++i;
        } else if (i == n) {
            return false;  // a single trailing ':'
        }
    }
    return compressed ? groups <= 7 : groups == 8;
}

// "[" IPv6address [ "%25" ZoneID ] "]" without the brackets; the zone id is kept after a plain '%'.
std::optional<std::string> parse_ipv6_literal(std::string_view literal) {
    const auto percent = literal.find('%');
    const auto address = literal.substr(0, percent);
    if (!valid_ipv6(address)) return std::nullopt;
    std::string host(address);
    if (percent == std::string_view::npos) return host;
    const auto zone = literal.substr(percent);
    if (zone.size() <= 3 || zone.substr(0, 3) != "%25") return std::nullopt;
    for (const char c : zone.substr(3)) {
        if (!is_unreserved(c)) return std::nullopt;
    }
    host.push_back('%');
    host.append(zone.substr(3));
    return host;
}

bool valid_reg_name(std::string_view host) noexcept {
    if (host.empty()) return false;
    for (const char c : host) {
        if (!is_unreserved(c)) return false;
    }
    return true;
}

bool known_scheme(std::string_view scheme) noexcept {
    for (const std::string_view known : {"rtsp", "rtsps", "rtspu", "rtspt"}) {
        if (iequals(scheme, known)) return true;
    }
    return false;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        c = ascii_lower(c);
    return out;
}

void append_host(std::string& out, const Url& url) {
    if (!url.is_ipv6()) {
        out += url.host;
        return;
    }
    out.push_back('[');
    for (const char c : url.host) {
        if (c == '%') {
            out += "%25";
        } else {
            out.push_back(c);
        }
    }
    out.push_back(']');
}

}  // namespace

Result<Url> parse_url(std::string_view text) {
    if (text.size() > k_max_url_length) return fail("URL too long");
    const auto scheme_end = text.find("://");
    if (scheme_end == std::string_view::npos) return fail("URL without scheme");
    const auto scheme = text.substr(0, scheme_end);
    if (!known_scheme(scheme)) return fail("not an rtsp URL");

    Url url;
    url.scheme = lower(scheme);
    const auto rest = text.substr(scheme_end + 3);
    const auto authority_end = rest.find_first_of("/?#");
    auto host_port = rest.substr(0, authority_end);
    if (authority_end != std::string_view::npos) {
        const auto path = rest.substr(authority_end);
        for (const char c : path) {
            if (is_forbidden(c)) return fail("invalid character in URL path");
        }
        url.path = std::string(path);
    }

    const auto at = host_port.rfind('@');
    if (at != std::string_view::npos) {
        auto userinfo = host_port.substr(0, at);
        host_port.remove_prefix(at + 1);
        const auto colon = userinfo.find(':');
        auto user = decode_userinfo(userinfo.substr(0, colon));
        auto password = decode_userinfo(colon == std::string_view::npos ? std::string_view{}
                                                                        : userinfo.substr(colon + 1));
        if (!user || !password) return fail("invalid userinfo in URL");
        url.user = std::move(*user);
        url.password = std::move(*password);
    }

    std::string_view port_text;
    bool has_port = false;
    if (!host_port.empty() && host_port.front() == '[') {
        const auto close = host_port.find(']');
        if (close == std::string_view::npos) return fail("unterminated IPv6 literal in URL");
        auto host = parse_ipv6_literal(host_port.substr(1, close - 1));
        if (!host) return fail("invalid IPv6 literal in URL");
        url.host = std::move(*host);
        const auto after = host_port.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return fail("garbage after IPv6 literal in URL");
            has_port = true;
            port_text = after.substr(1);
        }
    } else {
        const auto colon = host_port.find(':');
        const auto host = host_port.substr(0, colon);
        if (!valid_reg_name(host)) return fail("invalid host in URL");
        url.host = std::string(host);
        if (colon != std::string_view::npos) {
            has_port = true;
            port_text = host_port.substr(colon + 1);
        }
    }
    // RFC 3986 allows an empty port ("host:"); it means the default one.
    if (has_port && !port_text.empty()) {
        const auto port = parse_uint<std::uint16_t>(port_text);
        if (!port || *port == 0) return fail("invalid port in URL");
        url.port = *port;
    }
    return url;
}

std::string authority(const Url& url) {
    std::string out;
    append_host(out, url);
    if (url.port) {
        out.push_back(':');
        out += std::to_string(*url.port);
    }
    return out;
}

std::string to_string(const Url& url, bool with_userinfo) {
    std::string out;
    out.reserve(url.scheme.size() + url.host.size() + url.path.size() + 16);
    out += url.scheme;
    out += "://";
    if (with_userinfo && (!url.user.empty() || !url.password.empty())) {
        percent_encode(out, url.user);
        if (!url.password.empty()) {
            out.push_back(':');
            percent_encode(out, url.password);
        }
        out.push_back('@');
    }
    out += authority(url);
    out += url.path;
    return out;
}

// ---------------------------------------------------------------------------------------------------
// Reference resolution (RFC 3986 section 5.2)

namespace {

// RFC 3986 scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) followed by ':'.
bool has_scheme(std::string_view ref) noexcept {
    if (ref.empty() || !is_alpha(ref[0])) return false;
    for (std::size_t i = 1; i < ref.size(); ++i) {
        const char c = ref[i];
        if (c == ':') return true;
        if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.') return false;
    }
    return false;
}

struct Reference {
    std::string_view path;
    std::optional<std::string_view> query;     // without '?'
    std::optional<std::string_view> fragment;  // without '#'
};

Reference split_reference(std::string_view s) {
    Reference out;
    const auto hash = s.find('#');
    if (hash != std::string_view::npos) {
        out.fragment = s.substr(hash + 1);
        s = s.substr(0, hash);
    }
    const auto question = s.find('?');
    if (question != std::string_view::npos) {
        out.query = s.substr(question + 1);
        s = s.substr(0, question);
    }
    out.path = s;
    return out;
}

// RFC 3986 section 5.2.4.
std::string remove_dot_segments(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    while (!in.empty()) {
        if (in.substr(0, 3) == "../") {
            in.remove_prefix(3);
        } else if (in.substr(0, 2) == "./" || in.substr(0, 3) == "/./") {
            in.remove_prefix(2);
        } else if (in == "/.") {
            in = "/";
        } else if (in.substr(0, 4) == "/../" || in == "/..") {
            in = in.size() == 3 ? std::string_view("/") : in.substr(3);
            const auto last = out.rfind('/');
            out.erase(last == std::string::npos ? 0 : last);
        } else if (in == "." || in == "..") {
            in = {};
        } else {
            const auto next = in.find('/', 1);
            out.append(in.substr(0, next));
            in = next == std::string_view::npos ? std::string_view{} : in.substr(next);
        }
    }
    return out;
}

}  // namespace

std::string resolve_reference(std::string_view base, std::string_view ref) {
    ref = trim(ref);
    if (base.size() > k_max_url_length || ref.size() > k_max_url_length) return {};
    if (ref.empty() || ref == "*") return std::string(base);
    if (has_scheme(ref)) return std::string(ref);

    const auto scheme_end = base.find("://");
    if (scheme_end == std::string_view::npos || !has_scheme(base.substr(0, scheme_end + 1))) return {};
    const auto scheme = base.substr(0, scheme_end);
    const auto after_scheme = base.substr(scheme_end + 3);
    const auto authority_end = after_scheme.find_first_of("/?#");
    const auto base_authority = after_scheme.substr(0, authority_end);
    const Reference base_parts = split_reference(
        authority_end == std::string_view::npos ? std::string_view{} : after_scheme.substr(authority_end));

    std::string out;
    if (ref.substr(0, 2) == "//") {
        out.append(scheme).append(":").append(ref);
        return out.size() > k_max_url_length ? std::string{} : out;
    }

    const Reference r = split_reference(ref);
    std::string path;
    std::optional<std::string_view> query = r.query;
    if (r.path.empty()) {
        path = std::string(base_parts.path);
        if (!query) query = base_parts.query;
    } else if (r.path.front() == '/') {
        path = remove_dot_segments(r.path);
    } else {
        std::string merged;
        if (base_parts.path.empty()) {
            merged = "/";
        } else {
            merged = std::string(base_parts.path.substr(0, base_parts.path.rfind('/') + 1));
        }
        merged.append(r.path);
        path = remove_dot_segments(merged);
    }

    out.append(scheme).append("://").append(base_authority).append(path);
    if (query) out.append("?").append(*query);
    if (r.fragment) out.append("#").append(*r.fragment);
    return out.size() > k_max_url_length ? std::string{} : out;
}

}  // namespace sg::rtsp
