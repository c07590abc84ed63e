// libFuzzer target for rtpproxy's control protocol, over UDP (cookie first) and the unix socket (no
// cookie): decoding never fails without an E-code to send, every reply is one "[cookie ]<body>\n" line
// (the I command's reply is the one with several lines), and decoding is independent of the line ending.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "relay/address.hpp"
#include "relay/rtpproxy_codec.hpp"

namespace {

using namespace sg::relay;

void check(bool property) {
    if (!property) __builtin_trap();
}

void check_reply(std::string_view cookie, std::string_view reply, bool multi_line) {
    check(!reply.empty() && reply.back() == '\n');
    if (!cookie.empty()) check(reply.substr(0, cookie.size() + 1) == std::string(cookie) + " ");
    const std::string_view body = reply.substr(cookie.empty() ? 0 : cookie.size() + 1);
    check(body.size() > 1);
    if (!multi_line) check(body.find('\n') == body.size() - 1);
}

void exercise(std::string_view line, bool with_cookie) {
    const RtpproxyDecoded d = decode_rtpproxy(line, with_cookie);
    if (!d.can_reply) {
        check(with_cookie);
        return;
    }
    check(with_cookie != d.cookie.empty());
    check(d.cookie.size() <= k_rtpp_max_cookie);
    check(d.ignored.size() <= k_rtpp_max_ignored);
    if (!d.request) {
        const std::string reply = encode_rtpproxy_error(d.cookie, d.error_code);
        check_reply(d.cookie, reply, false);
        check(reply[d.cookie.empty() ? 0 : d.cookie.size() + 1] == 'E');
        return;
    }
    const Request& r = *d.request;
    check(r.media_index >= 1);
    if (r.op == Op::offer || r.op == Op::answer) check(r.media.has_value() && !r.speaker_tag.empty());

    Outcome o;
    o.media = r.media;
    o.ttl_seconds = 60;
    CallReport call;
    StreamReport s;
    s.index = r.media_index;
    s.received.packets = 3;
    call.legs.push_back({r.speaker_tag, {s}});
    call.legs.push_back({r.peer_tag, {s}});
    o.call = call;
    o.statistics = GlobalStatistics{};
    check_reply(d.cookie, encode_rtpproxy(d.cookie, r, o), r.op == Op::statistics);
    Outcome failed;
    failed.error = "x";
    failed.rtpproxy_error = k_rtpp_e_session_not_found;
    check_reply(d.cookie, encode_rtpproxy(d.cookie, r, failed), false);

    // The same command with a line ending decodes the same way.
    const RtpproxyDecoded again = decode_rtpproxy(std::string(line) + "\n", with_cookie);
    check(again.request.ok() && again.request->op == r.op && again.request->call_id == r.call_id &&
          again.request->speaker_tag == r.speaker_tag && again.request->peer_tag == r.peer_tag &&
          again.request->media == r.media);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view line(reinterpret_cast<const char*>(data), size);
    exercise(line, true);
    exercise(line, false);
    return 0;
}
