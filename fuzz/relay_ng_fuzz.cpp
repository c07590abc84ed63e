// libFuzzer target for rtpengine's ng protocol: a datagram becomes a Request and every reply we could
// send for it must be a well-formed "<cookie> <dictionary>" carrying the same cookie. The request body,
// re-encoded by our own bencode writer, must decode to the same Request (the decoder depends on the
// dictionary's content, not on how its bytes were written).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "relay/address.hpp"
#include "relay/bencode.hpp"
#include "relay/ng_codec.hpp"

namespace {

using namespace sg::relay;

void check(bool property) {
    if (!property) __builtin_trap();
}

bool same_options(const Options& a, const Options& b) {
    return a.sip_source_address == b.sip_source_address && a.trust_address == b.trust_address &&
           a.asymmetric == b.asymmetric && a.strict_source == b.strict_source &&
           a.port_latching == b.port_latching && a.replace_origin == b.replace_origin &&
           a.replace_session_connection == b.replace_session_connection && a.ice_remove == b.ice_remove &&
           a.ice_force == b.ice_force && a.rtcp_mux_offer == b.rtcp_mux_offer &&
           a.rtcp_mux_demux == b.rtcp_mux_demux && a.rtcp_mux_require == b.rtcp_mux_require &&
           a.rtcp_mux_accept == b.rtcp_mux_accept && a.rtcp_mux_reject == b.rtcp_mux_reject &&
           a.family == b.family && a.direction == b.direction &&
           a.transport_protocol == b.transport_protocol && a.media_address == b.media_address &&
           a.received_from == b.received_from;
}

bool same_request(const NgRequest& a, const NgRequest& b) {
    const Request& x = a.request;
    const Request& y = b.request;
    return x.op == y.op && x.call_id == y.call_id && x.speaker_tag == y.speaker_tag &&
           x.peer_tag == y.peer_tag && x.via_branch == y.via_branch && x.sdp == y.sdp && x.file == y.file &&
           x.repeat_times == y.repeat_times && same_options(x.options, y.options) && a.ignored == b.ignored;
}

// A reply must be "<cookie> " and one complete dictionary with a string "result".
void check_reply(std::string_view cookie, std::string_view reply, std::string_view result) {
    check(reply.size() > cookie.size() + 1);
    check(reply.substr(0, cookie.size()) == cookie && reply[cookie.size()] == ' ');
    const std::string_view body = reply.substr(cookie.size() + 1);
    const auto parsed = bencode::parse(body);
    check(parsed.ok() && parsed->consumed == body.size() && parsed->value.is_dict());
    const auto* r = parsed->value.find("result");
    check(r != nullptr && r->is_string() && r->string == result);
}

Outcome outcome_for(const Request& r) {
    Outcome o;
    o.sdp = r.sdp;
    o.warnings.assign(r.options.direction.begin(), r.options.direction.end());
    CallReport call;
    call.call_id = r.call_id;
    StreamReport s;
    s.index = r.media_index;
    s.media = "audio";
    s.announced = r.options.received_from;
    s.latched = r.media;
    call.legs.push_back({r.speaker_tag, {s, s}});
    call.legs.push_back({r.peer_tag, {s}});
    o.call = call;
    o.call_ids = {r.call_id, r.via_branch};
    o.statistics = GlobalStatistics{1, 2, 3, 4, 5, 6, 7, 8};
    return o;
}

// The TCP framer: a framed message is a datagram decode_ng accepts a cookie from, and every prefix of it
// waits for more.
void check_stream(std::string_view buffer) {
    const auto frame = frame_ng_stream(buffer);
    if (frame.failed()) {
        check(!frame.error.empty());
        return;
    }
    if (frame.need_more()) return;
    check(frame.consumed == frame.value.skip + frame.value.length && frame.consumed <= buffer.size());
    check(frame.value.length <= k_ng_max_datagram);
    const std::string_view message = buffer.substr(frame.value.skip, frame.value.length);
    const NgDecoded decoded = decode_ng(message);
    check(decoded.can_reply());
    if (!decoded.request.ok()) check(decoded.request.error().substr(0, 8) != "bencode:");
    check(frame_ng_stream(buffer.substr(0, frame.consumed - 1)).need_more());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view datagram(reinterpret_cast<const char*>(data), size);
    check_stream(datagram);
    const NgDecoded decoded = decode_ng(datagram);
    if (!decoded.can_reply()) return 0;
    check(decoded.cookie.size() <= k_ng_max_cookie && decoded.cookie.find(' ') == std::string::npos);
    check(datagram.substr(0, decoded.cookie.size()) == decoded.cookie);

    if (!decoded.request) {
        const std::string reply = encode_ng_error(decoded.cookie, decoded.request.error());
        check_reply(decoded.cookie, reply, "error");
        return 0;
    }
    const NgRequest& request = *decoded.request;
    check(request.ignored.size() <= k_ng_max_ignored);

    const Op op = request.request.op;
    check_reply(decoded.cookie, encode_ng(decoded.cookie, op, outcome_for(request.request)),
                op == Op::ping ? "pong" : "ok");
    Outcome failed;
    failed.error = request.request.call_id;
    check_reply(decoded.cookie, encode_ng(decoded.cookie, op, failed), "error");

    // Re-encode the body and decode again: the same request.
    std::string_view body = datagram.substr(decoded.cookie.size() + 1);
    while (!body.empty() && (body.back() == '\n' || body.back() == '\r'))
        body.remove_suffix(1);
    const auto tree = bencode::parse(body);
    check(tree.ok());
    const NgDecoded again = decode_ng(decoded.cookie + " " + bencode::encode(tree->value));
    check(again.request.ok() && same_request(*again.request, request));
    return 0;
}
