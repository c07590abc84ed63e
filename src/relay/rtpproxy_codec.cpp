#include "relay/rtpproxy_codec.hpp"

#include <array>
#include <utility>

#include "common/text.hpp"
#include "relay/address.hpp"

namespace sg::relay {

namespace {

constexpr std::size_t k_max_ignored_text = 64;
constexpr unsigned k_max_media_index = 1000;      // SDP bodies with more media sections are not real
constexpr unsigned k_max_play_count = 1'000'000;  // rtpproxy's loop counter; more is a typo

// Capability dates (rtpproxy's proto_caps) and whether we implement them.
struct Capability {
    std::string_view date;
    bool supported;
};
constexpr Capability k_capabilities[] = {
    {"20040107", true},   // basic RTP proxy functionality
    {"20050322", true},   // multiple RTP streams (";N" tag indexes) and MOH (P/S); Kamailio requires it
    {"20060704", true},   // an extra parameter in the V command (accepted and ignored)
    {"20071116", false},  // RTP re-packetization (Z<ptime>): we relay packets as they come
    {"20071218", false},  // forking (copying) an RTP stream ("C" command)
    {"20080403", true},   // RTP statistics querying (Q)
    {"20081102", true},   // codec lists in U/L ("c0,8,101"): accepted, the relay does not need them
    {"20081224", false},  // session timeout notifications to a notify socket
    {"20090810", true},   // automatic bridging between interfaces (I/E modifiers)
};

// rtpproxy splits a command on "\r\n\t " (get_command's strsep).
bool is_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// Splits on spaces and tabs; false when there are more than `max` fields.
bool split_fields(std::string_view line, std::vector<std::string_view>& out, std::size_t max) {
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && is_space(line[i]))
            ++i;
        if (i >= line.size()) break;
        const std::size_t start = i;
        while (i < line.size() && !is_space(line[i]))
            ++i;
        if (out.size() >= max) return false;
        out.push_back(line.substr(start, i - start));
    }
    return true;
}

bool cookie_is_valid(std::string_view cookie) {
    if (cookie.empty() || cookie.size() > k_rtpp_max_cookie) return false;
    for (const char c : cookie) {
        if (is_ctl(c) || static_cast<unsigned char>(c) >= 0x80) return false;
    }
    return true;
}

class Decoder {
public:
    explicit Decoder(RtpproxyDecoded& out) : out_(out) {}

    void note(std::string_view what) {
        if (out_.ignored.size() >= k_rtpp_max_ignored) return;
        out_.ignored.emplace_back(what.substr(0, k_max_ignored_text));
    }

    Result<Request> command(const std::vector<std::string_view>& f) {
        const std::string_view cmd = f[0];
        const char letter = static_cast<char>(ascii_lower(cmd[0]));
        const std::string_view mods = cmd.substr(1);
        const std::size_t n = f.size();
        switch (letter) {
            case 'v':
                if (iequals(mods, "f")) {
                    if (n != 2) return syntax();
                    Request r;
                    r.op = Op::version_feature;
                    r.feature = std::string(f[1]);
                    return r;
                }
                if (!mods.empty()) return error(k_rtpp_e_modifiers, "rtpproxy: unknown V modifier");
                if (n > 2) return syntax();
                return simple(Op::version);
            case 'u':
                if (n < 5 || n > 8) return syntax();
                if (n > 6) note("notify socket");
                return offer_answer(Op::offer, mods, f);
            case 'l':
                if (n < 6 || n > 8) return syntax();
                return offer_answer(Op::answer, mods, f);
            case 'd':
                if (n < 3 || n > 4) return syntax();
                return session(Op::remove, mods, f, 1);
            case 'q':
                if (n < 3) return syntax();
                if (n > 4) note("Q counters");
                return session(Op::query, mods, f, 1);
            case 'r':
                if (n < 3 || n > 4) return syntax();
                return session(Op::start_recording, mods, f, 1);
            case 's':
                if (n < 3 || n > 4) return syntax();
                return session(Op::stop_media, mods, f, 1);
            case 'p':
                if (n < 5 || n > 6) return syntax();
                return play(mods, f);
            case 'i':
                if (n != 1) return syntax();
                for (const char m : mods) {
                    if (m == 'b' || m == 'B') {
                        out_.brief_info = true;
                    } else if (m == 'l' || m == 'L') {
                        note("Il");  // rtpproxy's average load line: we have no such figure
                    } else {
                        return error(k_rtpp_e_modifiers, "rtpproxy: unknown I modifier");
                    }
                }
                return simple(Op::statistics);
            default:
                return error(k_rtpp_e_unknown_command, "rtpproxy: unknown command");
        }
    }

private:
    Error syntax() { return error(k_rtpp_e_syntax, "rtpproxy: wrong number of fields"); }
    Error error(int code, std::string_view why) {
        out_.error_code = code;
        return Error{why};
    }

    static Request simple(Op op) {
        Request r;
        r.op = op;
        return r;
    }

    // "call-id[;via-branch]"
    static void call_id(Request& r, std::string_view field) {
        const auto semi = field.find(';');
        r.call_id = std::string(field.substr(0, semi));
        if (semi != std::string_view::npos) r.via_branch = std::string(field.substr(semi + 1));
    }

    struct Tag {
        std::string_view tag;
        unsigned index = 0;  // 0: no ";N"
    };

    Result<Tag> tag(std::string_view field) {
        Tag t;
        const auto semi = field.find(';');
        t.tag = field.substr(0, semi);
        if (t.tag.empty()) return error(k_rtpp_e_syntax, "rtpproxy: empty tag");
        if (semi != std::string_view::npos) {
            const auto index = parse_uint<unsigned>(field.substr(semi + 1));
            if (!index || *index == 0 || *index > k_max_media_index)
                return error(k_rtpp_e_invalid_argument, "rtpproxy: bad media index");
            t.index = *index;
        }
        return t;
    }

    // Sets the tags: `speaker_first` says whether the first tag names the speaker (see the header).
    Result<bool> tags(Request& r, std::string_view first, std::string_view second, bool speaker_first) {
        auto a = tag(first);
        if (!a) return Error{a.error()};
        Tag b;
        if (!second.empty()) {
            auto parsed = tag(second);
            if (!parsed) return Error{parsed.error()};
            b = *parsed;
        }
        const Tag& speaker = speaker_first ? *a : b;
        const Tag& peer = speaker_first ? b : *a;
        r.speaker_tag = std::string(speaker.tag);
        r.peer_tag = std::string(peer.tag);
        r.media_index = speaker.index != 0 ? speaker.index : (peer.index != 0 ? peer.index : 1);
        return true;
    }

    // Modifiers of D, Q, R, S: rtpproxy knows a few ("w" weak delete, "v" verbose query...), none of
    // which changes what the relay does.
    void plain_modifiers(std::string_view mods) {
        if (!mods.empty()) note(mods);
    }

    Result<Request> session(Op op, std::string_view mods, const std::vector<std::string_view>& f,
                            std::size_t tag_at) {
        Request r;
        r.op = op;
        plain_modifiers(mods);
        call_id(r, f[tag_at]);
        auto ok = tags(r, f[tag_at + 1], f.size() > tag_at + 2 ? f[tag_at + 2] : std::string_view{}, true);
        if (!ok) return Error{ok.error()};
        return r;
    }

    // P[count] call-id prompt codecs from-tag [to-tag]: play `prompt` `count` times. As in rtpproxy's
    // handle_command: the whole modifier is the count, a negative count plays until stopped (Kamailio's
    // rtpproxy_stream2uac(..., -1)), and "P0" only stops what is playing.
    Result<Request> play(std::string_view mods, const std::vector<std::string_view>& f) {
        Request r;
        r.op = Op::play_media;
        if (!mods.empty()) {
            const bool negative = mods.front() == '-';
            const auto count = parse_uint<unsigned>(negative ? mods.substr(1) : mods);
            if (!count || *count > k_max_play_count || (negative && *count == 0))
                return error(k_rtpp_e_modifiers, "rtpproxy: bad play count");
            r.repeat_times = negative ? 0 : *count;
            if (!negative && *count == 0) r.op = Op::stop_media;
        }
        call_id(r, f[1]);
        if (r.op == Op::play_media) {
            r.file = std::string(f[2]);
            if (f[3] != "session") note(f[3]);  // codecs to play in; "session" means the session's own
        }
        auto ok = tags(r, f[4], f.size() > 5 ? f[5] : std::string_view{}, true);
        if (!ok) return Error{ok.error()};
        return r;
    }

    // An address right after an L/R modifier: "[v6]" or the run of address characters.
    static std::size_t address_length(std::string_view s) {
        if (!s.empty() && s[0] == '[') {
            const auto close = s.find(']');
            return close == std::string_view::npos ? 0 : close + 1;
        }
        std::size_t i = 0;
        while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == ':' ||
                                (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F')))
            ++i;
        return i;
    }

    Result<bool> offer_answer_modifiers(std::string_view mods, Options& o, bool& ipv6) {
        for (std::size_t i = 0; i < mods.size(); ++i) {
            const char m = mods[i];
            switch (m) {
                case 'a':
                case 'A':
                    o.asymmetric = true;
                    break;
                case 's':
                case 'S':
                    o.asymmetric = false;
                    break;
                case 'i':
                case 'I':
                case 'e':
                case 'E':
                    // Bridging (20090810): which interface each side uses, in the order rtpengine's
                    // rtpproxy interface reads them.
                    if (o.direction.size() >= 2)
                        return error(k_rtpp_e_modifiers, "rtpproxy: more than two I/E");
                    o.direction.emplace_back(m == 'i' || m == 'I' ? "internal" : "external");
                    break;
                case '6':
                    ipv6 = true;
                    break;
                case 'z':
                case 'Z': {
                    std::size_t end = i + 1;
                    while (end < mods.size() && mods[end] >= '0' && mods[end] <= '9')
                        ++end;
                    if (end == i + 1) return error(k_rtpp_e_modifiers, "rtpproxy: Z without a ptime");
                    note(mods.substr(i, end - i));  // re-packetization: not done (VF 20071116 says 0)
                    i = end - 1;
                    break;
                }
                case 'c':
                case 'C': {
                    std::size_t end = i + 1;
                    while (end < mods.size() && ((mods[end] >= '0' && mods[end] <= '9') || mods[end] == ','))
                        ++end;
                    i = end - 1;  // the codec list: the relay forwards whatever payload types come
                    break;
                }
                case 'l':
                case 'L':
                case 'r':
                case 'R': {
                    const std::string_view rest = mods.substr(i + 1);
                    const std::size_t len = address_length(rest);
                    std::string_view text = rest.substr(0, len);
                    if (!text.empty() && text[0] == '[') text = text.substr(1, text.size() - 2);
                    if (!parse_ip(text)) return error(k_rtpp_e_modifiers, "rtpproxy: bad address modifier");
                    note(mods.substr(i, len + 1));  // local/remote address: interfaces come from --interface
                    i += len;
                    break;
                }
                case 'w':
                case 'W':
                case 'n':
                case 'N':
                default:
                    note(std::string_view(&mods[i], 1));
                    break;
            }
        }
        return true;
    }

    Result<Request> offer_answer(Op op, std::string_view mods, const std::vector<std::string_view>& f) {
        Request r;
        r.op = op;
        bool ipv6 = false;
        auto ok = offer_answer_modifiers(mods, r.options, ipv6);
        if (!ok) return Error{ok.error()};
        call_id(r, f[1]);
        const auto port = parse_uint<std::uint16_t>(f[3]);
        if (!port) return error(k_rtpp_e_invalid_argument, "rtpproxy: bad port");
        auto media = parse_ip(f[2], *port);
        if (!media || (ipv6 && media->family != Family::ip6))
            return error(k_rtpp_e_invalid_argument, "rtpproxy: bad address");
        r.media = *media;
        auto tagged = tags(r, f[4], f.size() > 5 ? f[5] : std::string_view{}, op == Op::offer);
        if (!tagged) return Error{tagged.error()};
        return r;
    }

    RtpproxyDecoded& out_;
};

std::string with_cookie(std::string_view cookie, std::string_view body) {
    std::string out;
    out.reserve(cookie.size() + body.size() + 2);
    if (!cookie.empty()) {
        out.append(cookie);
        out += ' ';
    }
    out.append(body);
    out += '\n';
    return out;
}

std::string info_text(const GlobalStatistics& s) {
    std::string out;
    out += "sessions created: " + std::to_string(s.total_calls) + "\n";
    out += "active sessions: " + std::to_string(s.current_calls) + "\n";
    out += "active streams: " + std::to_string(s.ports_in_use / 2) + "\n";
    out += "packets received: " + std::to_string(s.relayed_packets + s.dropped_packets) + "\n";
    out += "packets transmitted: " + std::to_string(s.relayed_packets);
    return out;
}

// rtpproxy's Q: ttl, packets from the first tag's side, from the other side, relayed, dropped; for the
// media stream the tags' ";N" names.
std::string query_text(const Request& request, const Outcome& outcome) {
    std::uint64_t first = 0, other = 0, dropped = 0;
    if (outcome.call) {
        for (const LegReport& leg : outcome.call->legs) {
            for (const StreamReport& s : leg.streams) {
                if (s.index != request.media_index) continue;
                (leg.tag == request.speaker_tag ? first : other) += s.received.packets;
                dropped += s.received.errors;
            }
        }
    }
    const std::int64_t ttl = outcome.ttl_seconds.value_or(0);
    return std::to_string(ttl) + " " + std::to_string(first) + " " + std::to_string(other) + " " +
           std::to_string(first + other) + " " + std::to_string(dropped);
}

}  // namespace

bool rtpproxy_supports_feature(std::string_view date) {
    for (const auto& c : k_capabilities) {
        if (c.date == date) return c.supported;
    }
    return false;
}

RtpproxyDecoded decode_rtpproxy(std::string_view line, bool with_cookie) {
    RtpproxyDecoded out;
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
        line.remove_suffix(1);

    std::vector<std::string_view> fields;
    fields.reserve(8);
    const bool too_many = !split_fields(line.substr(0, k_rtpp_max_line + 1), fields, k_rtpp_max_fields + 1);
    if (with_cookie) {
        if (fields.empty() || !cookie_is_valid(fields[0])) {
            out.can_reply = false;
            return out;
        }
        out.cookie = std::string(fields[0]);
        fields.erase(fields.begin());
    }
    if (line.size() > k_rtpp_max_line || too_many || fields.size() > k_rtpp_max_fields) {
        out.request = fail("rtpproxy: command too long");
        out.error_code = k_rtpp_e_syntax;
        return out;
    }
    if (fields.empty()) {
        out.request = fail("rtpproxy: no command");
        out.error_code = k_rtpp_e_syntax;
        return out;
    }
    Decoder decoder(out);
    out.request = decoder.command(fields);
    return out;
}

std::string encode_rtpproxy_error(std::string_view cookie, int code) {
    std::string body(1, 'E');
    body.append(std::to_string(code));
    return with_cookie(cookie, body);
}

std::string encode_rtpproxy(std::string_view cookie, const Request& request, const Outcome& outcome) {
    if (outcome.error) return encode_rtpproxy_error(cookie, outcome.rtpproxy_error);
    switch (request.op) {
        case Op::version:
            return with_cookie(cookie, k_rtpp_version);
        case Op::version_feature:
            return with_cookie(cookie, rtpproxy_supports_feature(request.feature) ? "1" : "0");
        case Op::offer:
        case Op::answer: {
            if (!outcome.media) return with_cookie(cookie, "0");
            std::string body = std::to_string(outcome.media->port) + " " + ip_to_string(*outcome.media);
            if (outcome.media->family == Family::ip6) body += " 6";
            return with_cookie(cookie, body);
        }
        case Op::query:
            return with_cookie(cookie, query_text(request, outcome));
        case Op::statistics:
            return with_cookie(cookie, info_text(outcome.statistics.value_or(GlobalStatistics{})));
        default:
            return with_cookie(cookie, "0");
    }
}

}  // namespace sg::relay
