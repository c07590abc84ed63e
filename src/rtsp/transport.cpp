#include "rtsp/transport.hpp"

#include "common/text.hpp"
#include "rtsp/simple_headers.hpp"

namespace sg::rtsp {

namespace {

constexpr bool is_alnum(char c) noexcept {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Host names, IPv4 and IPv6 literals (with or without brackets), with an optional IPv6 zone.
constexpr bool is_host_char(char c) noexcept {
    return is_alnum(c) || c == '.' || c == '-' || c == '_' || c == ':' || c == '[' || c == ']' || c == '%';
}

bool is_host_text(std::string_view s) noexcept {
    if (s.empty() || s.size() > 255) return false;
    for (const char c : s) {
        if (!is_host_char(c)) return false;
    }
    return true;
}

// A host inside dest_addr/src_addr, brackets already removed: no ':' unless it came from brackets.
bool is_plain_host(std::string_view s, bool bracketed) noexcept {
    if (s.size() > 255) return false;
    for (const char c : s) {
        if (c == '[' || c == ']' || !is_host_char(c)) return false;
        if (!bracketed && (c == ':' || c == '%')) return false;
    }
    return !bracketed || !s.empty();
}

std::optional<PortRange> parse_port_range(std::string_view s) {
    const auto dash = s.find('-');
    const auto first = parse_uint<std::uint16_t>(s.substr(0, dash));
    if (!first) return std::nullopt;
    if (dash == std::string_view::npos) return PortRange{*first, *first};
    const auto last = parse_uint<std::uint16_t>(s.substr(dash + 1));
    if (!last || *last < *first) return std::nullopt;
    return PortRange{*first, *last};
}

std::optional<ChannelRange> parse_channel_range(std::string_view s) {
    const auto dash = s.find('-');
    const auto first = parse_uint<std::uint8_t>(s.substr(0, dash));
    if (!first) return std::nullopt;
    if (dash == std::string_view::npos) return ChannelRange{*first, *first};
    const auto last = parse_uint<std::uint8_t>(s.substr(dash + 1));
    if (!last || *last < *first) return std::nullopt;
    return ChannelRange{*first, *last};
}

Result<TransportAddress> parse_address(std::string_view quoted) {
    auto text = unquote(quoted);
    if (!text) return fail("Transport: address is not a quoted-string");
    std::string_view s = *text;
    TransportAddress addr;
    std::string_view port_text;
    bool has_port = false;
    if (!s.empty() && s.front() == '[') {
        const auto close = s.find(']');
        if (close == std::string_view::npos) return fail("Transport: unterminated IPv6 literal");
        if (!is_plain_host(s.substr(1, close - 1), true)) return fail("Transport: bad IPv6 literal");
        addr.host = s.substr(1, close - 1);
        const std::string_view after = s.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return fail("Transport: junk after IPv6 literal");
            has_port = true;
            port_text = after.substr(1);
        }
    } else {
        const auto colon = s.find(':');
        const std::string_view host = s.substr(0, colon);
        if (!is_plain_host(host, false)) return fail("Transport: bad address host");
        addr.host = host;
        if (colon != std::string_view::npos) {
            has_port = true;
            port_text = s.substr(colon + 1);
        }
    }
    if (has_port) {
        const auto port = parse_uint<std::uint16_t>(port_text);
        if (!port) return fail("Transport: bad address port");
        addr.port = *port;
    }
    if (addr.host.empty() && !addr.port) return fail("Transport: empty address");
    return addr;
}

Result<std::vector<TransportAddress>> parse_address_list(std::string_view value) {
    auto items = split_unquoted(value, '/', k_max_transport_addresses);
    if (!items) return fail(items.error());
    std::vector<TransportAddress> out;
    for (const std::string_view item : *items) {
        auto addr = parse_address(item);
        if (!addr) return fail(addr.error());
        out.push_back(std::move(*addr));
    }
    return out;
}

Result<std::vector<std::uint32_t>> parse_ssrc_list(std::string_view value) {
    if (!value.empty() && value.back() == '/') return fail("Transport: bad ssrc list");
    std::vector<std::uint32_t> out;
    std::string_view rest = value;
    while (true) {
        if (out.size() >= k_max_transport_ssrcs) return fail("Transport: too many SSRCs");
        const auto ssrc = parse_hex<std::uint32_t>(trim(pop_token(rest, '/')));
        if (!ssrc) return fail("Transport: bad ssrc");
        out.push_back(*ssrc);
        if (rest.empty()) break;
    }
    return out;
}

Result<std::vector<std::string>> parse_modes(std::string_view value, bool& quoted) {
    quoted = !value.empty() && value.front() == '"';
    std::string list;
    if (quoted) {
        auto text = unquote(value);
        if (!text) return fail(text.error());
        list = std::move(*text);
    } else {
        // Only the quoted form is a list (RFC 2326: mode = <"> *Method <"> | Method).
        if (!is_token(value)) return fail("Transport: bad mode");
        list = value;
    }
    if (!list.empty() && list.back() == ',') return fail("Transport: bad mode list");
    std::vector<std::string> modes;
    std::string_view rest = list;
    while (true) {
        if (modes.size() >= k_max_transport_modes) return fail("Transport: too many modes");
        const std::string_view mode = trim(pop_token(rest, ','));
        if (!is_token(mode)) return fail("Transport: bad mode");
        modes.emplace_back(mode);
        if (rest.empty()) break;
    }
    return modes;
}

Result<bool> parse_transport_id(std::string_view id, TransportSpec& spec) {
    std::string_view rest = id;
    const std::string_view protocol = pop_token(rest, '/');
    const std::string_view profile = pop_token(rest, '/');
    const std::string_view lower = rest;
    if (!is_token(protocol)) return fail("Transport: bad transport protocol");
    // profile/lower are tokens when present; "RTP/" or "RTP/AVP/" are not valid.
    const bool has_profile = id.find('/') != std::string_view::npos;
    const bool has_lower = has_profile && id.find('/', protocol.size() + 1) != std::string_view::npos;
    if (has_profile && !is_token(profile)) return fail("Transport: bad transport profile");
    if (has_lower && !is_token(lower)) return fail("Transport: bad lower transport");
    spec.protocol = protocol;
    spec.profile = profile;
    spec.lower = lower;
    return true;
}

// One "name[=value]" parameter, trimmed.
struct ParamText {
    std::string_view name;
    std::string_view arg;
    bool has_value = false;
};

// Tracks the list-valued and flag parameters already seen, to reject duplicates (the optional fields
// track themselves).
struct Seen {
    bool append = false;
    bool mode = false;
    bool ssrc = false;
    bool dest_addr = false;
    bool src_addr = false;
};

// One small handler per known parameter keeps each function's control flow simple (clang-tidy's
// optional-access dataflow analysis is exponential in the branches of a single function).
using ParamHandler = Result<bool> (*)(TransportSpec&, Seen&, const ParamText&);

Result<bool> set_delivery(TransportSpec& spec, Seen& /*seen*/, const ParamText& p) {
    if (p.has_value) return fail("Transport: unexpected parameter value");
    if (spec.delivery != Delivery::unspecified) return fail("Transport: duplicate unicast/multicast");
    spec.delivery = iequals(p.name, "unicast") ? Delivery::unicast : Delivery::multicast;
    return true;
}

Result<bool> set_host(std::optional<std::string>& field, const ParamText& p, bool value_optional) {
    if (field.has_value()) return fail("Transport: duplicate address parameter");
    if ((p.has_value || !value_optional) && !is_host_text(p.arg)) return fail("Transport: bad address");
    field = std::string(p.arg);
    return true;
}

template <class T, class Parse>
Result<bool> set_once(std::optional<T>& field, std::string_view arg, Parse parse) {
    if (field.has_value()) return fail("Transport: duplicate parameter");
    const std::optional<T> parsed = parse(arg);
    if (!parsed.has_value()) return fail("Transport: bad parameter value");
    field = parsed;
    return true;
}

Result<bool> set_append(TransportSpec& spec, Seen& seen, const ParamText& p) {
    if (p.has_value) return fail("Transport: unexpected parameter value");
    if (seen.append) return fail("Transport: duplicate append");
    seen.append = spec.append = true;
    return true;
}

Result<bool> set_ssrc(TransportSpec& spec, Seen& seen, const ParamText& p) {
    if (seen.ssrc) return fail("Transport: duplicate ssrc");
    seen.ssrc = true;
    auto ssrcs = parse_ssrc_list(p.arg);
    if (!ssrcs) return fail(ssrcs.error());
    spec.ssrc = ssrcs->front();
    spec.more_ssrcs.assign(ssrcs->begin() + 1, ssrcs->end());
    return true;
}

Result<bool> set_mode(TransportSpec& spec, Seen& seen, const ParamText& p) {
    if (seen.mode) return fail("Transport: duplicate mode");
    seen.mode = true;
    auto modes = parse_modes(p.arg, spec.mode_quoted);
    if (!modes) return fail(modes.error());
    spec.modes = std::move(*modes);
    return true;
}

Result<bool> set_addresses(std::vector<TransportAddress>& field, bool& seen, const ParamText& p) {
    if (seen) return fail("Transport: duplicate address list");
    seen = true;
    auto list = parse_address_list(p.arg);
    if (!list) return fail(list.error());
    field = std::move(*list);
    return true;
}

struct KnownParam {
    std::string_view name;
    ParamHandler handler;
};

constexpr KnownParam k_known_params[] = {
    {"unicast", set_delivery},
    {"multicast", set_delivery},
    {"destination",
     [](TransportSpec& s, Seen&, const ParamText& p) { return set_host(s.destination, p, true); }},
    {"source", [](TransportSpec& s, Seen&, const ParamText& p) { return set_host(s.source, p, false); }},
    {"interleaved", [](TransportSpec& s, Seen&,
                       const ParamText& p) { return set_once(s.interleaved, p.arg, parse_channel_range); }},
    {"append", set_append},
    {"ttl", [](TransportSpec& s, Seen&,
               const ParamText& p) { return set_once(s.ttl, p.arg, parse_uint<std::uint8_t>); }},
    {"layers", [](TransportSpec& s, Seen&,
                  const ParamText& p) { return set_once(s.layers, p.arg, parse_uint<std::uint32_t>); }},
    {"port",
     [](TransportSpec& s, Seen&, const ParamText& p) { return set_once(s.port, p.arg, parse_port_range); }},
    {"client_port", [](TransportSpec& s, Seen&,
                       const ParamText& p) { return set_once(s.client_port, p.arg, parse_port_range); }},
    {"server_port", [](TransportSpec& s, Seen&,
                       const ParamText& p) { return set_once(s.server_port, p.arg, parse_port_range); }},
    {"ssrc", set_ssrc},
    {"mode", set_mode},
    {"dest_addr", [](TransportSpec& s, Seen& seen,
                     const ParamText& p) { return set_addresses(s.dest_addr, seen.dest_addr, p); }},
    {"src_addr", [](TransportSpec& s, Seen& seen,
                    const ParamText& p) { return set_addresses(s.src_addr, seen.src_addr, p); }},
};

Result<bool> apply_param(TransportSpec& spec, Seen& seen, std::string_view param) {
    const auto eq = param.find('=');
    ParamText p;
    p.name = trim(param.substr(0, eq));
    p.has_value = eq != std::string_view::npos;
    p.arg = p.has_value ? trim(param.substr(eq + 1)) : std::string_view{};
    if (!is_token(p.name)) return fail("Transport: bad parameter name");
    if (has_forbidden_control(p.arg)) return fail("Transport: control character in parameter");
    for (const auto& known : k_known_params) {
        if (iequals(p.name, known.name)) return known.handler(spec, seen, p);
    }
    if (p.has_value && p.arg.empty()) return fail("Transport: missing parameter value");
    std::optional<std::string> value;
    if (p.has_value) value = std::string(p.arg);
    spec.extensions.push_back(TransportParam{std::string(p.name), std::move(value)});
    return true;
}

void append_name(std::string& out, std::string_view name) {
    out.push_back(';');
    out += name;
}

// A single port or channel formats as one number.
template <class Range>
void append_range(std::string& out, std::string_view name, const std::optional<Range>& range) {
    if (!range.has_value()) return;
    append_name(out, name);
    out.push_back('=');
    out += std::to_string(range->first);
    if (range->last != range->first) {
        out.push_back('-');
        out += std::to_string(range->last);
    }
}

template <class T>
void append_number(std::string& out, std::string_view name, const std::optional<T>& value) {
    if (!value.has_value()) return;
    append_name(out, name);
    out.push_back('=');
    out += std::to_string(*value);
}

// A bare "destination" is stored as an empty string.
void append_host(std::string& out, std::string_view name, const std::optional<std::string>& host) {
    if (!host.has_value()) return;
    append_name(out, name);
    if (host->empty()) return;
    out.push_back('=');
    out += *host;
}

void append_hex8(std::string& out, std::uint32_t v) {
    static constexpr char k_digits[] = "0123456789ABCDEF";
    for (int shift = 28; shift >= 0; shift -= 4)
        out.push_back(k_digits[(v >> shift) & 0xf]);
}

void append_ssrcs(std::string& out, const std::optional<std::uint32_t>& first,
                  const std::vector<std::uint32_t>& more) {
    if (!first.has_value()) return;
    out += ";ssrc=";
    append_hex8(out, *first);
    for (const auto ssrc : more) {
        out.push_back('/');
        append_hex8(out, ssrc);
    }
}

void append_modes(std::string& out, const std::vector<std::string>& modes, bool quoted) {
    if (modes.empty()) return;
    out += ";mode=";
    std::string list;
    for (const auto& mode : modes) {
        if (!list.empty()) list.push_back(',');
        list += mode;
    }
    out += (quoted || modes.size() > 1) ? quote(list) : list;
}

void append_address_list(std::string& out, std::string_view name, const std::vector<TransportAddress>& list) {
    if (list.empty()) return;
    out.push_back(';');
    out += name;
    out.push_back('=');
    bool first = true;
    for (const auto& addr : list) {
        if (!first) out.push_back('/');
        first = false;
        std::string text;
        if (addr.host.find_first_of(":%") != std::string::npos) {
            text = "[" + addr.host + "]";
        } else {
            text = addr.host;
        }
        if (addr.port.has_value()) {
            text.push_back(':');
            text += std::to_string(*addr.port);
        }
        out += quote(text);
    }
}

}  // namespace

bool TransportSpec::is_rtp() const noexcept {
    return iequals(protocol, "RTP");
}

bool TransportSpec::is_tcp() const noexcept {
    return iequals(lower, "TCP");
}

bool TransportSpec::is_udp() const noexcept {
    return lower.empty() || iequals(lower, "UDP");
}

const TransportParam* TransportSpec::find_extension(std::string_view name) const noexcept {
    for (const auto& p : extensions) {
        if (iequals(p.name, name)) return &p;
    }
    return nullptr;
}

Result<TransportSpec> parse_transport_spec(std::string_view spec_text) {
    if (spec_text.size() > k_max_transport_length) return fail("Transport: too long");
    auto params = split_unquoted(spec_text, ';', k_max_transport_params + 1);
    if (!params) return fail(params.error());
    TransportSpec spec;
    if (auto id = parse_transport_id((*params)[0], spec); !id) return fail(id.error());
    Seen seen;
    for (std::size_t i = 1; i < params->size(); ++i) {
        // Tolerate stray semicolons ("RTP/AVP;unicast;"), which some clients send.
        if ((*params)[i].empty()) continue;
        if (auto r = apply_param(spec, seen, (*params)[i]); !r) return fail(r.error());
    }
    return spec;
}

Result<std::vector<TransportSpec>> parse_transport(std::string_view value) {
    if (value.size() > k_max_transport_length) return fail("Transport: too long");
    auto items = split_unquoted(value, ',', k_max_transport_specs);
    if (!items) return fail(items.error());
    std::vector<TransportSpec> specs;
    for (const std::string_view item : *items) {
        if (item.empty()) continue;  // null list elements
        auto spec = parse_transport_spec(item);
        if (!spec) return fail(spec.error());
        specs.push_back(std::move(*spec));
    }
    if (specs.empty()) return fail("Transport: empty");
    return specs;
}

std::string to_header_value(const TransportSpec& spec) {
    std::string out = spec.protocol;
    if (!spec.profile.empty() || !spec.lower.empty()) {
        out.push_back('/');
        out += spec.profile;
    }
    if (!spec.lower.empty()) {
        out.push_back('/');
        out += spec.lower;
    }
    if (spec.delivery == Delivery::unicast) out += ";unicast";
    if (spec.delivery == Delivery::multicast) out += ";multicast";
    append_host(out, "destination", spec.destination);
    append_host(out, "source", spec.source);
    append_range(out, "interleaved", spec.interleaved);
    if (spec.append) out += ";append";
    append_number(out, "ttl", spec.ttl);
    append_number(out, "layers", spec.layers);
    append_range(out, "port", spec.port);
    append_range(out, "client_port", spec.client_port);
    append_range(out, "server_port", spec.server_port);
    append_ssrcs(out, spec.ssrc, spec.more_ssrcs);
    append_modes(out, spec.modes, spec.mode_quoted);
    append_address_list(out, "dest_addr", spec.dest_addr);
    append_address_list(out, "src_addr", spec.src_addr);
    for (const auto& p : spec.extensions) {
        out.push_back(';');
        out += p.name;
        if (p.value.has_value()) {
            out.push_back('=');
            out += *p.value;
        }
    }
    return out;
}

std::string to_header_value(std::span<const TransportSpec> specs) {
    std::string out;
    for (const auto& spec : specs) {
        if (!out.empty()) out.push_back(',');
        out += to_header_value(spec);
    }
    return out;
}

}  // namespace sg::rtsp
