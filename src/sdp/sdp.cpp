#include "sdp/sdp.hpp"

#include <utility>

#include "common/text.hpp"

namespace sg::sdp {
namespace {

// An empty view means success; errors are string literals.
using Status = std::string_view;
constexpr Status k_ok{};

// Splits on runs of spaces and tabs. Fails (returns false) past `max` fields so a hostile line
// cannot make us allocate per byte.
bool split_fields(std::string_view s, std::vector<std::string_view>& out, std::size_t max) {
    out.clear();
    std::size_t i = 0;
    for (;;) {
        while (i < s.size() && is_space_or_tab(s[i]))
            ++i;
        if (i == s.size()) return true;
        const std::size_t start = i;
        while (i < s.size() && !is_space_or_tab(s[i]))
            ++i;
        if (out.size() == max) return false;
        out.push_back(s.substr(start, i - start));
    }
}

std::string_view trim_right(std::string_view s) {
    while (!s.empty() && is_space_or_tab(s.back()))
        s.remove_suffix(1);
    return s;
}

Status parse_origin(std::string_view value, Origin& out) {
    // The username is "everything before the last five fields": a few servers put spaces in it, and
    // taking it that way keeps such lines lossless.
    std::string_view fields[5];
    std::string_view rest = trim_right(value);
    for (int i = 4; i >= 0; --i) {
        const std::size_t end = rest.size();
        std::size_t begin = end;
        while (begin > 0 && !is_space_or_tab(rest[begin - 1]))
            --begin;
        if (begin == end) return "o= needs six fields";
        fields[i] = rest.substr(begin);
        rest = trim_right(rest.substr(0, begin));
    }
    const std::string_view username = trim(rest);
    if (username.empty()) return "o= needs six fields";
    out.username = std::string(username);
    out.session_id = std::string(fields[0]);
    out.session_version = std::string(fields[1]);
    out.nettype = std::string(fields[2]);
    out.addrtype = std::string(fields[3]);
    out.address = std::string(fields[4]);
    return k_ok;
}

Status parse_connection(std::string_view value, Connection& out) {
    std::vector<std::string_view> f;
    if (!split_fields(value, f, 3) || f.size() != 3) return "c= needs <nettype> <addrtype> <address>";
    out.nettype = std::string(f[0]);
    out.addrtype = std::string(f[1]);
    const std::string_view addr = f[2];
    const std::size_t slash = addr.find('/');
    if (slash == 0) return "c= address is empty";
    out.address = std::string(addr.substr(0, slash));
    if (slash == std::string_view::npos) return k_ok;

    const std::string_view suffix = addr.substr(slash + 1);
    const std::size_t slash2 = suffix.find('/');
    const auto first = parse_uint<std::uint32_t>(suffix.substr(0, slash2));
    if (!first) return "c= TTL or address count is not a number";
    if (iequals(out.addrtype, "IP6")) {
        // RFC 4566 §5.7: IPv6 multicast has no TTL field, only the number of addresses.
        if (slash2 != std::string_view::npos) return "c= IP6 address takes only /<number of addresses>";
        out.count = first;
        return k_ok;
    }
    out.ttl = first;
    if (slash2 == std::string_view::npos) return k_ok;
    const auto second = parse_uint<std::uint32_t>(suffix.substr(slash2 + 1));
    if (!second) return "c= address count is not a number";
    out.count = second;
    return k_ok;
}

Status parse_bandwidth(std::string_view value, Bandwidth& out) {
    const std::string_view v = trim(value);
    const std::size_t colon = v.find(':');
    if (colon == std::string_view::npos) return "b= needs <bwtype>:<bandwidth>";
    const std::string_view type = trim(v.substr(0, colon));
    const auto kbps = parse_uint<std::uint64_t>(trim(v.substr(colon + 1)));
    if (type.empty() || !kbps) return "b= needs <bwtype>:<bandwidth>";
    out.type = std::string(type);
    out.value = *kbps;
    return k_ok;
}

Status parse_timing(std::string_view value, Timing& out) {
    std::vector<std::string_view> f;
    if (!split_fields(value, f, 2) || f.size() != 2) return "t= needs <start> <stop>";
    const auto start = parse_uint<std::uint64_t>(f[0]);
    const auto stop = parse_uint<std::uint64_t>(f[1]);
    if (!start || !stop) return "t= times are not numbers";
    out.start = *start;
    out.stop = *stop;
    return k_ok;
}

Status parse_media(std::string_view value, MediaDescription& out) {
    std::vector<std::string_view> f;
    if (!split_fields(value, f, k_max_formats + 3)) return "too many formats on an m= line";
    if (f.size() < 3) return "m= needs <media> <port> <proto>";
    out.media = std::string(f[0]);
    const std::string_view port = f[1];
    const std::size_t slash = port.find('/');
    const auto number = parse_uint<std::uint16_t>(port.substr(0, slash));
    if (!number) return "m= port is not a number";
    out.port = *number;
    if (slash != std::string_view::npos) {
        const auto count = parse_uint<std::uint16_t>(port.substr(slash + 1));
        if (!count) return "m= number of ports is not a number";
        out.port_count = count;
    }
    out.proto = std::string(f[2]);
    for (std::size_t i = 3; i < f.size(); ++i)
        out.formats.emplace_back(f[i]);
    return k_ok;
}

Status add_attribute(std::vector<Attribute>& attributes, std::string_view value) {
    if (attributes.size() == k_max_attributes) return "too many attributes in one SDP section";
    const std::string_view v = trim_right(value);
    const std::size_t colon = v.find(':');
    Attribute a;
    a.name = std::string(trim(v.substr(0, colon)));
    if (colon != std::string_view::npos) a.value = std::string(v.substr(colon + 1));
    attributes.push_back(std::move(a));
    return k_ok;
}

// Sets a single-valued text field, or keeps a repeat verbatim instead of dropping it.
void set_once(std::optional<std::string>& field, std::vector<ExtraLine>& extra, char type,
              std::string_view value) {
    if (field) {
        extra.push_back(ExtraLine{type, std::string(value)});
    } else {
        field = std::string(value);
    }
}

class Parser {
public:
    sg::Result<SessionDescription> run(std::string_view text) {
        if (text.size() > k_max_size) return fail("SDP larger than 64 KiB");
        std::size_t lines = 0;
        bool have_version = false;
        while (!text.empty()) {
            std::string_view line = pop_token(text, '\n');
            if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
            if (line.find_first_of(std::string_view("\r\0", 2)) != std::string_view::npos) {
                return fail("CR or NUL inside an SDP line");
            }
            if (trim(line).empty()) continue;
            if (++lines > k_max_lines) return fail("too many SDP lines");
            if (line.size() < 2 || line[0] < 'a' || line[0] > 'z' || line[1] != '=') {
                return fail("SDP line is not <lowercase letter>=<value>");
            }
            const char type = line[0];
            const std::string_view value = line.substr(2);
            Status status = k_ok;
            if (!have_version) {
                if (type != 'v') return fail("SDP does not start with v=");
                const auto version = parse_uint<std::uint32_t>(trim(value));
                if (!version) return fail("v= is not a number");
                sd_.version = *version;
                have_version = true;
            } else if (type == 'v') {
                status = "second v= line";
            } else if (type == 'm') {
                status = start_media(value);
            } else if (sd_.media.empty()) {
                status = session_line(type, value);
            } else {
                status = media_line(sd_.media.back(), type, value);
            }
            if (!status.empty()) return fail(status);
        }
        if (!have_version) return fail("SDP does not start with v=");
        if (!have_origin_) return fail("SDP has no o= line");
        return std::move(sd_);
    }

private:
    Status start_media(std::string_view value) {
        if (sd_.media.size() == k_max_media) return "too many m= sections";
        MediaDescription m;
        const Status status = parse_media(value, m);
        if (status.empty()) sd_.media.push_back(std::move(m));
        return status;
    }

    Status session_line(char type, std::string_view value) {
        switch (type) {
            case 'o':
                if (have_origin_) return "second o= line";
                have_origin_ = true;
                return parse_origin(value, sd_.origin);
            case 's':
                if (have_name_) {
                    sd_.extra_lines.push_back(ExtraLine{type, std::string(value)});
                } else {
                    sd_.session_name = std::string(value);
                    have_name_ = true;
                }
                return k_ok;
            case 'i':
                set_once(sd_.information, sd_.extra_lines, type, value);
                return k_ok;
            case 'u':
                set_once(sd_.uri, sd_.extra_lines, type, value);
                return k_ok;
            case 'k':
                set_once(sd_.key, sd_.extra_lines, type, value);
                return k_ok;
            case 'e':
                sd_.emails.emplace_back(value);
                return k_ok;
            case 'p':
                sd_.phones.emplace_back(value);
                return k_ok;
            case 'c':
                // A second session c= would escape the address rewrite, so it is an error, not an extra.
                if (sd_.connection) return "second session-level c= line";
                sd_.connection.emplace();
                return parse_connection(value, *sd_.connection);
            case 'b':
                return parse_bandwidth(value, sd_.bandwidths.emplace_back());
            case 't':
                return parse_timing(value, sd_.timings.emplace_back());
            case 'r':
                if (sd_.timings.empty()) return "r= before any t= line";
                sd_.timings.back().repeats.emplace_back(value);
                return k_ok;
            case 'z':
                sd_.time_zones.emplace_back(value);
                return k_ok;
            case 'a':
                return add_attribute(sd_.attributes, value);
            default:
                sd_.extra_lines.push_back(ExtraLine{type, std::string(value)});
                return k_ok;
        }
    }

    static Status media_line(MediaDescription& m, char type, std::string_view value) {
        switch (type) {
            case 'i':
                set_once(m.information, m.extra_lines, type, value);
                return k_ok;
            case 'k':
                set_once(m.key, m.extra_lines, type, value);
                return k_ok;
            case 'c':
                return parse_connection(value, m.connections.emplace_back());
            case 'b':
                return parse_bandwidth(value, m.bandwidths.emplace_back());
            case 'a':
                return add_attribute(m.attributes, value);
            case 'o':
                // Most likely a second description glued on without its v=; its address would escape
                // the rewrite.
                return "o= inside a media section";
            default:
                m.extra_lines.push_back(ExtraLine{type, std::string(value)});
                return k_ok;
        }
    }

    SessionDescription sd_;
    bool have_origin_ = false;
    bool have_name_ = false;
};

void put_line(std::string& out, char type, std::string_view value) {
    out += type;
    out += '=';
    out += value;
    out += "\r\n";
}

void put_connection(std::string& out, const Connection& c) {
    out += "c=";
    out += c.nettype;
    out += ' ';
    out += c.addrtype;
    out += ' ';
    out += c.address;
    if (c.ttl) {
        out += '/';
        out += std::to_string(*c.ttl);
    }
    if (c.count) {
        out += '/';
        out += std::to_string(*c.count);
    }
    out += "\r\n";
}

void put_bandwidths(std::string& out, const std::vector<Bandwidth>& bandwidths) {
    for (const auto& b : bandwidths)
        put_line(out, 'b', b.type + ':' + std::to_string(b.value));
}

void put_attributes(std::string& out, const std::vector<Attribute>& attributes) {
    for (const auto& a : attributes) {
        out += "a=";
        out += a.name;
        if (a.value) {
            out += ':';
            out += *a.value;
        }
        out += "\r\n";
    }
}

void put_extra(std::string& out, const std::vector<ExtraLine>& extra) {
    for (const auto& e : extra)
        put_line(out, e.type, e.value);
}

void put_media(std::string& out, const MediaDescription& m) {
    out += "m=";
    out += m.media;
    out += ' ';
    out += std::to_string(m.port);
    if (m.port_count) {
        out += '/';
        out += std::to_string(*m.port_count);
    }
    out += ' ';
    out += m.proto;
    for (const auto& f : m.formats) {
        out += ' ';
        out += f;
    }
    out += "\r\n";
    if (m.information) put_line(out, 'i', *m.information);
    for (const auto& c : m.connections)
        put_connection(out, c);
    put_bandwidths(out, m.bandwidths);
    if (m.key) put_line(out, 'k', *m.key);
    put_attributes(out, m.attributes);
    put_extra(out, m.extra_lines);
}

}  // namespace

sg::Result<SessionDescription> parse(std::string_view text) {
    return Parser{}.run(text);
}

std::string to_string(const SessionDescription& sd) {
    std::string out;
    out.reserve(512);
    put_line(out, 'v', std::to_string(sd.version));
    const Origin& o = sd.origin;
    put_line(out, 'o',
             o.username + ' ' + o.session_id + ' ' + o.session_version + ' ' + o.nettype + ' ' + o.addrtype +
                 ' ' + o.address);
    put_line(out, 's', sd.session_name);
    if (sd.information) put_line(out, 'i', *sd.information);
    if (sd.uri) put_line(out, 'u', *sd.uri);
    for (const auto& e : sd.emails)
        put_line(out, 'e', e);
    for (const auto& p : sd.phones)
        put_line(out, 'p', p);
    if (sd.connection) put_connection(out, *sd.connection);
    put_bandwidths(out, sd.bandwidths);
    for (const auto& t : sd.timings) {
        put_line(out, 't', std::to_string(t.start) + ' ' + std::to_string(t.stop));
        for (const auto& r : t.repeats)
            put_line(out, 'r', r);
    }
    for (const auto& z : sd.time_zones)
        put_line(out, 'z', z);
    if (sd.key) put_line(out, 'k', *sd.key);
    put_attributes(out, sd.attributes);
    put_extra(out, sd.extra_lines);
    for (const auto& m : sd.media)
        put_media(out, m);
    return out;
}

}  // namespace sg::sdp
