#include "relay/ng_codec.hpp"

#include <utility>

#include "common/text.hpp"
#include "relay/address.hpp"
#include "relay/bencode.hpp"

namespace sg::relay {

namespace {

using bencode::Value;

constexpr std::size_t k_max_ignored_text = 64;  // an ignored flag is logged; keep the log line short

// rtpengine treats spaces and hyphens alike in keys and flags; we also ignore case.
std::string canonical(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (const char c : s)
        out += c == ' ' ? '-' : ascii_lower(c);
    return out;
}

struct Command {
    std::string_view name;
    Op op;
};

constexpr Command k_commands[] = {
    {"ping", Op::ping},
    {"offer", Op::offer},
    {"answer", Op::answer},
    {"delete", Op::remove},
    {"query", Op::query},
    {"list", Op::list},
    {"statistics", Op::statistics},
    {"start recording", Op::start_recording},
    {"stop recording", Op::stop_recording},
    {"play media", Op::play_media},
    {"stop media", Op::stop_media},
};

// Collects what the request asked for that we do not act on, bounded in count and length.
class Ignored {
public:
    explicit Ignored(std::vector<std::string>& out) : out_(out) {}
    void add(std::string_view what, std::string_view detail = {}) {
        if (out_.size() >= k_ng_max_ignored) return;
        std::string text(what);
        if (!detail.empty()) {
            text += '=';
            text += detail;
        }
        if (text.size() > k_max_ignored_text) text.resize(k_max_ignored_text);
        out_.push_back(std::move(text));
    }

private:
    std::vector<std::string>& out_;
};

class RequestBuilder {
public:
    explicit RequestBuilder(NgRequest& out) : out_(out), ignored_(out.ignored) {}

    // One dictionary entry. Returns an error only for a value of the wrong type in a key we use.
    Result<bool> key(std::string_view raw_key, const Value& value) {
        const std::string key = canonical(raw_key);
        Request& r = out_.request;
        Options& o = r.options;
        if (key == "command") return true;  // handled by decode_body
        if (key == "call-id") return string_into(value, r.call_id, "ng: call-id is not a string");
        if (key == "from-tag") return string_into(value, from_tag, "ng: from-tag is not a string");
        if (key == "to-tag") return string_into(value, to_tag, "ng: to-tag is not a string");
        if (key == "via-branch") return string_into(value, r.via_branch, "ng: via-branch is not a string");
        if (key == "sdp") return string_into(value, r.sdp, "ng: sdp is not a string");
        if (key == "file") return string_into(value, r.file, "ng: file is not a string");
        if (key == "transport-protocol")
            return string_into(value, o.transport_protocol, "ng: transport protocol is not a string");
        if (key == "repeat-times") return repeat_times(value);
        if (key == "address-family") return address_family(value);
        if (key == "media-address") return media_address(value);
        if (key == "ice") return ice(value);
        if (key == "received-from") return received_from(value);
        if (key == "replace")
            return for_each_string(value, "ng: replace is not a list of strings", &RequestBuilder::replace);
        if (key == "rtcp-mux")
            return for_each_string(value, "ng: rtcp-mux is not a list of strings", &RequestBuilder::rtcp_mux);
        if (key == "direction")
            return for_each_string(value, "ng: direction is not a list of strings",
                                   &RequestBuilder::direction);
        if (key == "flags")
            return for_each_string(value, "ng: flags is not a list of strings", &RequestBuilder::flag);
        // Kamailio's module always sends "supports": ["load limit"]; we never answer "load limit", which
        // the extension allows, so there is nothing to note.
        if (key == "supports") return true;
        ignored_.add(raw_key);
        return true;
    }

    // The tags as the message names them; decode_body turns them into speaker and peer.
    std::string from_tag;
    std::string to_tag;

private:
    using ItemHandler = void (RequestBuilder::*)(std::string_view);

    static Result<bool> string_into(const Value& value, std::string& out, std::string_view error) {
        if (!value.is_string()) return Error{error};
        out = value.string;
        return true;
    }

    Result<bool> for_each_string(const Value& value, std::string_view error, ItemHandler handler) {
        if (!value.is_list()) return Error{error};
        for (const auto& item : value.list) {
            if (!item.is_string()) return Error{error};
            (this->*handler)(item.string);
        }
        return true;
    }

    Result<bool> repeat_times(const Value& value) {
        if (value.is_integer()) {
            if (value.integer < 0 || value.integer > 1'000'000) return fail("ng: repeat-times out of range");
            out_.request.repeat_times = static_cast<unsigned>(value.integer);
            return true;
        }
        if (value.is_string()) {
            const auto n = parse_uint<unsigned>(value.string);
            if (!n || *n > 1'000'000) return fail("ng: repeat-times out of range");
            out_.request.repeat_times = *n;
            return true;
        }
        return fail("ng: repeat-times is not an integer");
    }

    Result<bool> address_family(const Value& value) {
        if (!value.is_string()) return fail("ng: address family is not a string");
        if (const auto family = parse_family(value.string)) {
            out_.request.options.family = *family;
        } else {
            ignored_.add("address-family", value.string);
        }
        return true;
    }

    Result<bool> media_address(const Value& value) {
        if (!value.is_string()) return fail("ng: media address is not a string");
        if (parse_ip(value.string)) {
            out_.request.options.media_address = value.string;
        } else {
            ignored_.add("media-address", value.string);
        }
        return true;
    }

    Result<bool> ice(const Value& value) {
        if (!value.is_string()) return fail("ng: ICE is not a string");
        ice_value(value.string);
        return true;
    }

    void ice_value(std::string_view v) {
        const std::string c = canonical(v);
        if (c == "remove") {
            out_.request.options.ice_remove = true;
        } else if (c == "force") {
            out_.request.options.ice_force = true;
        } else {
            ignored_.add("ICE", v);
        }
    }

    // [family, address]; Kamailio sends "?" as the family for a source it cannot name.
    Result<bool> received_from(const Value& value) {
        if (!value.is_list()) return fail("ng: received from is not a list");
        if (value.list.size() != 2 || !value.list[0].is_string() || !value.list[1].is_string())
            return fail("ng: received from is not [family, address]");
        received_from_pair(value.list[0].string, value.list[1].string);
        return true;
    }

    void received_from_pair(std::string_view family_text, std::string_view address_text) {
        const auto family = parse_family(family_text);
        const auto address = parse_ip(address_text);
        if (family && address && address->family == *family) {
            out_.request.options.received_from = *address;
        } else {
            ignored_.add("received-from", address_text);
        }
    }

    void replace(std::string_view item) {
        const std::string c = canonical(item);
        if (c == "origin") {
            out_.request.options.replace_origin = true;
        } else if (c == "session-connection") {
            out_.request.options.replace_session_connection = true;
        } else {
            ignored_.add("replace", item);
        }
    }

    void rtcp_mux(std::string_view item) {
        Options& o = out_.request.options;
        const std::string c = canonical(item);
        if (c == "offer") {
            o.rtcp_mux_offer = true;
        } else if (c == "require") {
            o.rtcp_mux_offer = true;
            o.rtcp_mux_require = true;
        } else if (c == "demux") {
            o.rtcp_mux_demux = true;
        } else if (c == "accept") {
            o.rtcp_mux_accept = true;
        } else if (c == "reject") {
            o.rtcp_mux_reject = true;
        } else {
            ignored_.add("rtcp-mux", item);
        }
    }

    void direction(std::string_view item) {
        auto& d = out_.request.options.direction;
        if (d.size() >= 2) {
            ignored_.add("direction", item);
            return;
        }
        d.emplace_back(item);
    }

    void flag(std::string_view item) {
        Options& o = out_.request.options;
        // Newer clients put "key=value" pairs into the flags list; treat them like dictionary keys.
        if (const auto eq = item.find('='); eq != std::string_view::npos) {
            flag_pair(item.substr(0, eq), item.substr(eq + 1));
            return;
        }
        const std::string c = canonical(item);
        if (c == "sip-source-address") {
            o.sip_source_address = true;
        } else if (c == "trust-address") {
            o.trust_address = true;
        } else if (c == "symmetric") {
            o.asymmetric = false;  // rtpengine's default; accepted for rtpproxy-era configs
        } else if (c == "asymmetric") {
            o.asymmetric = true;
        } else if (c == "strict-source") {
            o.strict_source = true;
        } else if (c == "port-latching") {
            o.port_latching = true;
        } else if (c == "no-port-latching") {
            o.port_latching = false;
        } else if (c.starts_with("replace-")) {
            replace(item.substr(8));
        } else if (c.starts_with("rtcp-mux-")) {
            rtcp_mux(item.substr(9));
        } else {
            ignored_.add(item);
        }
    }

    void flag_pair(std::string_view raw_key, std::string_view value) {
        const std::string key = canonical(raw_key);
        Options& o = out_.request.options;
        if (key == "address-family") {
            if (const auto family = parse_family(value)) {
                o.family = *family;
                return;
            }
        } else if (key == "media-address") {
            if (parse_ip(value)) {
                o.media_address = std::string(value);
                return;
            }
        } else if (key == "ice") {
            ice_value(value);
            return;
        } else if (key == "replace") {
            replace(value);
            return;
        } else if (key == "rtcp-mux") {
            rtcp_mux(value);
            return;
        } else if (key == "direction") {
            direction(value);
            return;
        } else if (key == "transport-protocol") {
            o.transport_protocol = std::string(value);
            return;
        }
        ignored_.add(raw_key, value);
    }

    NgRequest& out_;
    Ignored ignored_;
};

Result<Op> find_command(const Value& dict) {
    const Value* command = dict.find("command");
    if (command == nullptr) return fail("No command in message");
    if (!command->is_string()) return fail("ng: command is not a string");
    const std::string wanted = canonical(command->string);
    for (const auto& c : k_commands) {
        if (canonical(c.name) == wanted) return c.op;
    }
    return fail("Unrecognized command");
}

// The keys each command cannot do without; the reasons are rtpengine's own words.
Result<bool> check_required(Op op, const RequestBuilder& b, const Request& r) {
    switch (op) {
        case Op::offer:
        case Op::answer:
            if (r.sdp.empty()) return fail("No SDP body in message");
            if (r.call_id.empty()) return fail("No call-id in message");
            if (b.from_tag.empty()) return fail("No from-tag in message");
            if (op == Op::answer && b.to_tag.empty()) return fail("No to-tag in message");
            return true;
        case Op::play_media:
            if (r.file.empty()) return fail("No media file specified");
            [[fallthrough]];
        case Op::stop_media:
            if (r.call_id.empty()) return fail("No call-id in message");
            if (b.from_tag.empty()) return fail("No participant selected");
            return true;
        case Op::remove:
        case Op::query:
        case Op::start_recording:
        case Op::stop_recording:
            if (r.call_id.empty()) return fail("No call-id in message");
            return true;
        case Op::ping:
        case Op::list:
        case Op::statistics:
        case Op::version:
        case Op::version_feature:
            return true;
    }
    return true;
}

Result<NgRequest> decode_body(std::string_view body) {
    // A hand-typed request (netcat) ends with a newline; tolerate line endings after the dictionary.
    while (!body.empty() && (body.back() == '\n' || body.back() == '\r'))
        body.remove_suffix(1);
    auto decoded = bencode::parse(body);
    if (!decoded) return Error{decoded.error()};
    if (decoded->consumed != body.size()) return fail("ng: bytes after the dictionary");
    const Value& dict = decoded->value;
    if (!dict.is_dict()) return fail("ng: message is not a dictionary");

    auto op = find_command(dict);
    if (!op) return Error{op.error()};

    NgRequest out;
    out.request.op = *op;
    RequestBuilder builder(out);
    for (const auto& entry : dict.dict) {
        auto handled = builder.key(entry.key, entry.value);
        if (!handled) return Error{handled.error()};
    }
    auto required = check_required(*op, builder, out.request);
    if (!required) return Error{required.error()};

    // See the note on tags in ng_codec.hpp.
    if (*op == Op::answer) {
        out.request.speaker_tag = std::move(builder.to_tag);
        out.request.peer_tag = std::move(builder.from_tag);
    } else {
        out.request.speaker_tag = std::move(builder.from_tag);
        out.request.peer_tag = std::move(builder.to_tag);
    }
    return out;
}

bool cookie_is_valid(std::string_view cookie) {
    if (cookie.empty() || cookie.size() > k_ng_max_cookie) return false;
    for (const char c : cookie) {
        if (is_ctl(c) || c == ' ' || static_cast<unsigned char>(c) >= 0x80) return false;
    }
    return true;
}

std::string with_cookie(std::string_view cookie, const Value& dict) {
    std::string out;
    out.reserve(cookie.size() + 64);
    out.append(cookie);
    out += ' ';
    bencode::encode(dict, out);
    return out;
}

Value endpoint(const Address& address) {
    Value e = Value::make_dict();
    e.add("family", Value::make_string(address.family == Family::ip6 ? "IPv6" : "IPv4"));
    e.add("address", Value::make_string(ip_to_string(address)));
    e.add("port", Value::make_integer(address.port));
    return e;
}

Value stats(std::uint64_t packets, std::uint64_t bytes, std::uint64_t errors) {
    Value s = Value::make_dict();
    s.add("packets", Value::make_integer(static_cast<std::int64_t>(packets)));
    s.add("bytes", Value::make_integer(static_cast<std::int64_t>(bytes)));
    s.add("errors", Value::make_integer(static_cast<std::int64_t>(errors)));
    return s;
}

Value stream(const StreamReport& s) {
    Value v = Value::make_dict();
    v.add("local port", Value::make_integer(s.local.port));
    // "endpoint" is where media for this side goes: the latched address once known, else the SDP's.
    if (s.latched) {
        v.add("endpoint", endpoint(*s.latched));
    } else if (s.announced) {
        v.add("endpoint", endpoint(*s.announced));
    }
    if (s.announced) v.add("advertised endpoint", endpoint(*s.announced));
    v.add("last packet", Value::make_integer(s.received.last_packet_unix));
    v.add("stats", stats(s.received.packets, s.received.bytes, s.received.errors));
    return v;
}

// rtpengine's query shape: created, last signal, tags{tag: {tag, in dialogue with, medias[...]}}, totals.
void add_call_report(Value& reply, const CallReport& call) {
    reply.add("created", Value::make_integer(call.created_unix));
    reply.add("last signal", Value::make_integer(call.last_signal_unix));
    Value& tags = reply.add("tags", Value::make_dict());
    std::uint64_t packets = 0, bytes = 0, errors = 0;
    for (std::size_t i = 0; i < call.legs.size(); ++i) {
        const LegReport& leg = call.legs[i];
        Value& t = tags.add(leg.tag, Value::make_dict());
        t.add("tag", Value::make_string(leg.tag));
        if (call.legs.size() == 2) t.add("in dialogue with", Value::make_string(call.legs[1 - i].tag));
        Value& medias = t.add("medias", Value::make_list());
        Value* media = nullptr;
        unsigned media_index = 0;
        for (const StreamReport& s : leg.streams) {
            // Streams arrive grouped by media section; start a new media entry when the index changes.
            if (media == nullptr || s.index != media_index) {
                media_index = s.index;
                media = &medias.push(Value::make_dict());
                media->add("index", Value::make_integer(s.index));
                media->add("type", Value::make_string(s.media));
                media->add("streams", Value::make_list());
            }
            media->dict.back().value.push(stream(s));
            packets += s.received.packets;
            bytes += s.received.bytes;
            errors += s.received.errors;
        }
    }
    Value& totals = reply.add("totals", Value::make_dict());
    totals.add("RTP", stats(packets, bytes, errors));
    totals.add("RTCP", stats(0, 0, 0));
}

Value statistics(const GlobalStatistics& s) {
    auto n = [](std::uint64_t v) { return Value::make_integer(static_cast<std::int64_t>(v)); };
    Value all = Value::make_dict();
    Value& current = all.add("currentstatistics", Value::make_dict());
    current.add("sessionsown", n(s.current_calls));
    current.add("sessionsforeign", n(0));
    current.add("sessionstotal", n(s.current_calls));
    current.add("portsinuse", n(s.ports_in_use));
    current.add("portsfree", n(s.ports_free));
    Value& total = all.add("totalstatistics", Value::make_dict());
    total.add("managedsessions", n(s.total_calls));
    total.add("timeoutsessions", n(s.timed_out_calls));
    total.add("relayedpackets", n(s.relayed_packets));
    total.add("relayedbytes", n(s.relayed_bytes));
    total.add("relayedpacketerrors", n(s.dropped_packets));
    return all;
}

}  // namespace

NgDecoded decode_ng(std::string_view datagram) {
    NgDecoded out;
    const auto space = datagram.find(' ');
    if (space == std::string_view::npos) return out;  // no cookie: no reply
    const std::string_view cookie = datagram.substr(0, space);
    if (!cookie_is_valid(cookie)) return out;
    out.cookie = std::string(cookie);
    if (datagram.size() > k_ng_max_datagram) {
        out.request = fail("ng: message too large");
        return out;
    }
    out.request = decode_body(datagram.substr(space + 1));
    return out;
}

Parsed<NgFrame> frame_ng_stream(std::string_view buffer) {
    std::size_t skip = 0;
    while (skip < buffer.size() && (buffer[skip] == '\r' || buffer[skip] == '\n'))
        ++skip;
    const std::string_view rest = buffer.substr(skip);
    if (skip > k_ng_max_datagram) return Parsed<NgFrame>::fail("ng: too many line breaks");
    const auto space = rest.find(' ');
    if (space == std::string_view::npos) {
        if (rest.size() > k_ng_max_cookie) return Parsed<NgFrame>::fail("ng: no cookie");
        for (const char c : rest) {
            if (is_ctl(c) || static_cast<unsigned char>(c) >= 0x80)
                return Parsed<NgFrame>::fail("ng: bad cookie");
        }
        return Parsed<NgFrame>::more();
    }
    if (!cookie_is_valid(rest.substr(0, space))) return Parsed<NgFrame>::fail("ng: bad cookie");
    const std::string_view body = rest.substr(space + 1, k_ng_max_datagram - space - 1);
    const auto parsed = bencode::parse(body);
    if (!parsed) {
        if (parsed.error() != bencode::k_truncated) return Parsed<NgFrame>::fail(parsed.error());
        if (space + 1 + body.size() >= k_ng_max_datagram)
            return Parsed<NgFrame>::fail("ng: message too large");
        return Parsed<NgFrame>::more();
    }
    if (!parsed->value.is_dict()) return Parsed<NgFrame>::fail("ng: message is not a dictionary");
    const NgFrame frame{skip, space + 1 + parsed->consumed};
    return Parsed<NgFrame>::ok(frame, skip + frame.length);
}

std::string encode_ng_error(std::string_view cookie, std::string_view reason) {
    Value reply = Value::make_dict();
    reply.add("result", Value::make_string("error"));
    reply.add("error-reason", Value::make_string(reason));
    return with_cookie(cookie, reply);
}

std::string encode_ng(std::string_view cookie, Op op, const Outcome& outcome) {
    if (outcome.error) return encode_ng_error(cookie, *outcome.error);
    Value reply = Value::make_dict();
    reply.add("result", Value::make_string(op == Op::ping ? "pong" : "ok"));
    if (!outcome.warnings.empty()) {
        std::string warning;
        for (const auto& w : outcome.warnings) {
            if (!warning.empty()) warning += "; ";
            warning += w;
        }
        reply.add("warning", Value::make_string(warning));
    }
    switch (op) {
        case Op::offer:
        case Op::answer:
            reply.add("sdp", Value::make_string(outcome.sdp));
            break;
        case Op::query:
        case Op::remove:  // rtpengine's delete reply may carry the same statistics as query
            if (outcome.call) add_call_report(reply, *outcome.call);
            break;
        case Op::list: {
            Value& calls = reply.add("calls", Value::make_list());
            for (const auto& id : outcome.call_ids)
                calls.push(Value::make_string(id));
            break;
        }
        case Op::statistics:
            if (outcome.statistics) reply.add("statistics", statistics(*outcome.statistics));
            break;
        default:
            break;
    }
    return with_cookie(cookie, reply);
}

std::string_view ng_command_name(Op op) {
    for (const auto& c : k_commands) {
        if (c.op == op) return c.name;
    }
    return {};
}

}  // namespace sg::relay
