#include "relay/ng_codec.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "relay/address.hpp"
#include "relay/bencode.hpp"

namespace sg::relay {
namespace {

// "<len>:<s>": bencode byte strings, so the requests below read like the wire bytes without hand-counted
// lengths.
std::string b(std::string_view s) {
    std::string out = std::to_string(s.size());
    out += ':';
    out.append(s);
    return out;
}

// Concatenation by appending: GCC 12 at -O3 warns (-Wrestrict, a known false positive) on "literal" +
// std::string temporaries.
template <class... Parts>
std::string cat(const Parts&... parts) {
    std::string out;
    (out.append(std::string_view(parts)), ...);
    return out;
}

const std::string k_sdp =
    "v=0\r\no=- 1545997027 1 IN IP4 10.0.1.2\r\ns=-\r\nc=IN IP4 10.0.1.2\r\nt=0 0\r\n"
    "m=audio 6000 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\n";

// What Kamailio 5.6's rtpengine module sends for
//   rtpengine_offer("replace-origin replace-session-connection ICE=remove RTP/AVP trust-address")
// on an INVITE received from 198.51.100.7: rtpp_function_call() adds "supports" first, then the SDP,
// parse_flags()'s key=value pairs (ICE), the flags/replace lists, "transport-protocol", call-id,
// "received-from" (always, from the SIP source address), from-tag and the command last.
std::string kamailio_offer() {
    return cat("d", b("supports"), "l", b("load limit"), "e", b("sdp"), b(k_sdp), b("ICE"), b("remove"),
               b("flags"), "l", b("trust-address"), "e", b("replace"), "l", b("origin"),
               b("session-connection"), "e", b("transport-protocol"), b("RTP/AVP"), b("call-id"),
               b("a84b4c76e66710@pc33.example.com"), b("received-from"), "l", b("IP4"), b("198.51.100.7"),
               "e", b("from-tag"), b("1928301774"), b("command"), b("offer"), "e");
}

// rtpengine_answer() on the 200 OK: a reply, so from-tag = the From tag (the offerer) and to-tag = the
// To tag (the answerer); Kamailio swaps them when the answer travels in a request (ACK) instead.
std::string kamailio_answer() {
    return cat("d", b("supports"), "l", b("load limit"), "e", b("sdp"), b(k_sdp), b("flags"), "l",
               b("SIP-source-address"), b("strict-source"), "e", b("replace"), "l", b("origin"), "e",
               b("call-id"), b("a84b4c76e66710@pc33.example.com"), b("received-from"), "l", b("IP6"),
               b("2001:db8::9"), "e", b("from-tag"), b("1928301774"), b("to-tag"), b("a6c85cf"), b("command"),
               b("answer"), "e");
}

TEST(NgDecode, KamailioOfferMapsEveryKey) {
    const auto d = decode_ng(cat("5323_1 ", kamailio_offer()));
    ASSERT_TRUE(d.can_reply());
    EXPECT_EQ(d.cookie, "5323_1");
    ASSERT_TRUE(d.request) << d.request.error();
    const Request& r = d.request->request;
    EXPECT_EQ(r.op, Op::offer);
    EXPECT_EQ(r.call_id, "a84b4c76e66710@pc33.example.com");
    EXPECT_EQ(r.speaker_tag, "1928301774");
    EXPECT_EQ(r.peer_tag, "");
    EXPECT_EQ(r.sdp, k_sdp);
    EXPECT_TRUE(r.options.trust_address);
    EXPECT_TRUE(r.options.replace_origin);
    EXPECT_TRUE(r.options.replace_session_connection);
    EXPECT_TRUE(r.options.ice_remove);
    EXPECT_FALSE(r.options.ice_force);
    EXPECT_EQ(r.options.transport_protocol, "RTP/AVP");
    ASSERT_TRUE(r.options.received_from);
    EXPECT_EQ(ip_to_string(*r.options.received_from), "198.51.100.7");
    EXPECT_TRUE(d.request->ignored.empty()) << d.request->ignored.front();
}

TEST(NgDecode, AnswerSpeakerIsTheToTag) {
    const auto d = decode_ng(cat("5323_2 ", kamailio_answer()));
    ASSERT_TRUE(d.request) << d.request.error();
    const Request& r = d.request->request;
    EXPECT_EQ(r.op, Op::answer);
    EXPECT_EQ(r.speaker_tag, "a6c85cf");
    EXPECT_EQ(r.peer_tag, "1928301774");
    EXPECT_TRUE(r.options.sip_source_address);
    EXPECT_TRUE(r.options.strict_source);
    ASSERT_TRUE(r.options.received_from);
    EXPECT_EQ(r.options.received_from->family, Family::ip6);
}

TEST(NgDecode, SpacedKeysAndFlagsAsRtpengineDocumentsThem) {
    const std::string body =
        cat("d", b("command"), b("offer"), b("call-id"), b("c1"), b("from-tag"), b("f1"), b("sdp"), b(k_sdp),
            b("address family"), b("IP6"), b("transport protocol"), b("RTP/SAVP"), b("media address"),
            b("2001:db8::6f24:65b"), b("received from"), "l", b("IP4"), b("10.65.31.43"), "e", b("replace"),
            "l", b("session connection"), "e", b("flags"), "l", b("SIP source address"), b("trust address"),
            b("asymmetric"), b("port latching"), "e", b("ICE"), b("force"), b("via-branch"), b("z9hG4bK776"),
            "e");
    const auto d = decode_ng("k " + body);
    ASSERT_TRUE(d.request) << d.request.error();
    const Options& o = d.request->request.options;
    EXPECT_EQ(o.family, Family::ip6);
    EXPECT_EQ(o.transport_protocol, "RTP/SAVP");
    EXPECT_EQ(o.media_address, "2001:db8::6f24:65b");
    ASSERT_TRUE(o.received_from);
    EXPECT_EQ(ip_to_string(*o.received_from), "10.65.31.43");
    EXPECT_TRUE(o.replace_session_connection);
    EXPECT_TRUE(o.sip_source_address);
    EXPECT_TRUE(o.trust_address);
    EXPECT_TRUE(o.asymmetric);
    EXPECT_TRUE(o.port_latching);
    EXPECT_TRUE(o.ice_force);
    EXPECT_EQ(d.request->request.via_branch, "z9hG4bK776");
}

TEST(NgDecode, HyphenatedKeysToo) {
    const std::string body =
        cat("d", b("command"), b("offer"), b("call-id"), b("c1"), b("from-tag"), b("f1"), b("sdp"), b(k_sdp),
            b("address-family"), b("IP4"), b("media-address"), b("192.0.2.1"), b("direction"), "l",
            b("external"), b("internal"), "e", b("rtcp-mux"), "l", b("demux"), b("accept"), "e", "e");
    const auto d = decode_ng("k " + body);
    ASSERT_TRUE(d.request) << d.request.error();
    const Options& o = d.request->request.options;
    EXPECT_EQ(o.family, Family::ip4);
    EXPECT_EQ(o.media_address, "192.0.2.1");
    ASSERT_EQ(o.direction.size(), 2U);
    EXPECT_EQ(o.direction[0], "external");
    EXPECT_EQ(o.direction[1], "internal");
    EXPECT_TRUE(o.rtcp_mux_demux);
    EXPECT_TRUE(o.rtcp_mux_accept);
    EXPECT_FALSE(o.rtcp_mux_offer);
}

TEST(NgDecode, RtcpMuxListAndPrefixedFlags) {
    const std::string body =
        cat("d", b("command"), b("offer"), b("call-id"), b("c1"), b("from-tag"), b("f1"), b("sdp"), b(k_sdp),
            b("rtcp-mux"), "l", b("require"), b("reject"), "e", b("flags"), "l", b("rtcp-mux-offer"),
            b("replace-origin"), b("address-family=IP6"), b("ICE=remove"), "e", "e");
    const auto d = decode_ng("k " + body);
    ASSERT_TRUE(d.request) << d.request.error();
    const Options& o = d.request->request.options;
    EXPECT_TRUE(o.rtcp_mux_require);
    EXPECT_TRUE(o.rtcp_mux_offer);
    EXPECT_TRUE(o.rtcp_mux_reject);
    EXPECT_TRUE(o.replace_origin);
    EXPECT_EQ(o.family, Family::ip6);
    EXPECT_TRUE(o.ice_remove);
}

TEST(NgDecode, UnknownFlagsAndKeysAreIgnoredNotFatalAndBounded) {
    std::string flags;
    for (int i = 0; i < 50; ++i)
        flags += b(cat("made-up-flag-", std::to_string(i)));
    const std::string body =
        cat("d", b("command"), b("offer"), b("call-id"), b("c1"), b("from-tag"), b("f1"), b("sdp"), b(k_sdp),
            b("flags"), "l", b("loop-protect"), b("record-call"), flags, "e", b("DTLS"), b("passive"),
            b("TOS"), "i184e", b("ICE"), b("force-relay"), "e");
    const auto d = decode_ng("k " + body);
    ASSERT_TRUE(d.request) << d.request.error();
    const auto& ignored = d.request->ignored;
    ASSERT_EQ(ignored.size(), k_ng_max_ignored);
    EXPECT_EQ(ignored[0], "loop-protect");
    EXPECT_EQ(ignored[1], "record-call");
    EXPECT_EQ(ignored[2], "made-up-flag-0");
}

TEST(NgDecode, UnusableReceivedFromIsNotedNotFatal) {
    const std::string body = cat("d", b("command"), b("offer"), b("call-id"), b("c1"), b("from-tag"), b("f1"),
                                 b("sdp"), b(k_sdp), b("received-from"), "l", b("?"), b(""), "e", "e");
    const auto d = decode_ng("k " + body);
    ASSERT_TRUE(d.request) << d.request.error();
    EXPECT_FALSE(d.request->request.options.received_from);
    ASSERT_EQ(d.request->ignored.size(), 1U);
    EXPECT_EQ(d.request->ignored[0], "received-from");
}

TEST(NgDecode, NoCookieMeansNoReply) {
    EXPECT_FALSE(decode_ng("d7:command4:pinge").can_reply());
    EXPECT_FALSE(decode_ng(" d7:command4:pinge").can_reply());
    EXPECT_FALSE(decode_ng("").can_reply());
    EXPECT_FALSE(decode_ng(std::string(k_ng_max_cookie + 1, 'c') + " d7:command4:pinge").can_reply());
    EXPECT_FALSE(decode_ng(std::string("co\x01ok d7:command4:pinge")).can_reply());
    EXPECT_TRUE(decode_ng(std::string(k_ng_max_cookie, 'c') + " d7:command4:pinge").can_reply());
}

TEST(NgDecode, BadBodyKeepsTheCookieForAnErrorReply) {
    const auto d = decode_ng("77_3 d7:command4:ping");  // dictionary not closed
    ASSERT_TRUE(d.can_reply());
    EXPECT_EQ(d.cookie, "77_3");
    ASSERT_FALSE(d.request);
    EXPECT_EQ(encode_ng_error(d.cookie, d.request.error()),
              cat("77_3 d6:result5:error12:error-reason", b(d.request.error()), "e"));
}

struct Refused {
    std::string body;
    std::string_view reason;
};

class NgRefuses : public ::testing::TestWithParam<Refused> {};

TEST_P(NgRefuses, WithReason) {
    const auto d = decode_ng("c " + GetParam().body);
    ASSERT_TRUE(d.can_reply());
    ASSERT_FALSE(d.request);
    EXPECT_EQ(d.request.error(), GetParam().reason);
}

INSTANTIATE_TEST_SUITE_P(
    NgDecode, NgRefuses,
    ::testing::Values(
        Refused{"le", "ng: message is not a dictionary"}, Refused{"de", "No command in message"},
        Refused{"d7:commandi1ee", "ng: command is not a string"},
        Refused{"d7:command5:fnorde", "Unrecognized command"},
        Refused{"d7:command5:offer7:call-id1:c8:from-tag1:fe", "No SDP body in message"},
        Refused{"d7:command5:offer3:sdp3:v=08:from-tag1:fe", "No call-id in message"},
        Refused{"d7:command5:offer3:sdp3:v=07:call-id1:ce", "No from-tag in message"},
        Refused{"d7:command6:answer3:sdp3:v=07:call-id1:c8:from-tag1:fe", "No to-tag in message"},
        Refused{"d7:command6:deletee", "No call-id in message"},
        Refused{"d7:command6:delete7:call-idi5ee", "ng: call-id is not a string"},
        Refused{"d7:command5:offer5:flags5:fnorde", "ng: flags is not a list of strings"},
        Refused{"d7:command5:offer5:flagsli1eee", "ng: flags is not a list of strings"},
        Refused{"d7:command5:offer13:received-froml3:IP4ee", "ng: received from is not [family, address]"},
        Refused{"d7:command10:play media7:call-id1:c8:from-tag1:fe", "No media file specified"},
        Refused{"d7:command10:play media7:call-id1:c4:file5:a.wave", "No participant selected"},
        Refused{"d7:command10:play media7:call-id1:c8:from-tag1:f4:file5:a.wav12:repeat-timesi-1ee",
                "ng: repeat-times out of range"},
        Refused{"d7:command4:pinge1:x", "ng: bytes after the dictionary"},
        Refused{"d7:command4:ping", "bencode: truncated"}));

TEST(NgDecode, EveryCommandNameMapsBothWays) {
    const Op ops[] = {Op::ping,           Op::offer,      Op::answer,     Op::remove,
                      Op::query,          Op::list,       Op::statistics, Op::start_recording,
                      Op::stop_recording, Op::play_media, Op::stop_media};
    for (const Op op : ops) {
        const std::string name(ng_command_name(op));
        ASSERT_FALSE(name.empty());
        std::string body = cat("d", b("command"), b(name), b("call-id"), b("c"), b("from-tag"), b("f"),
                               b("to-tag"), b("t"), b("sdp"), b(k_sdp), b("file"), b("/tmp/x.wav"), "e");
        const auto d = decode_ng("c " + body);
        ASSERT_TRUE(d.request) << name << ": " << d.request.error();
        EXPECT_EQ(d.request->request.op, op) << name;
    }
    EXPECT_TRUE(ng_command_name(Op::version).empty());
}

TEST(NgDecode, DeleteAndPlayMediaSelectByFromTag) {
    const auto del = decode_ng("c d7:command6:delete7:call-id1:c8:from-tag2:ft6:to-tag2:tte");
    ASSERT_TRUE(del.request);
    EXPECT_EQ(del.request->request.speaker_tag, "ft");
    EXPECT_EQ(del.request->request.peer_tag, "tt");
    const auto only_call = decode_ng("c d7:command6:delete7:call-id1:ce");
    EXPECT_TRUE(only_call.request);

    const auto play =
        decode_ng("c d7:command10:play media7:call-id1:c8:from-tag2:ft4:file8:/m/a.wav12:repeat-timesi3ee");
    ASSERT_TRUE(play.request) << play.request.error();
    EXPECT_EQ(play.request->request.file, "/m/a.wav");
    EXPECT_EQ(play.request->request.repeat_times, 3U);
    EXPECT_EQ(play.request->request.speaker_tag, "ft");
}

TEST(NgDecode, TrailingNewlineIsTolerated) {
    EXPECT_TRUE(decode_ng("c d7:command4:pinge\n").request);
    EXPECT_TRUE(decode_ng("c d7:command4:pinge\r\n").request);
}

TEST(NgDecode, OversizedDatagramIsAnsweredWithAnError) {
    const std::string body = cat("d7:command4:ping3:pad", b(std::string(k_ng_max_datagram, 'x')), "e");
    const auto d = decode_ng("big " + body);
    ASSERT_TRUE(d.can_reply());
    ASSERT_FALSE(d.request);
    EXPECT_EQ(d.request.error(), "ng: message too large");
}

TEST(NgEncode, PingOfferAndWarnings) {
    EXPECT_EQ(encode_ng("5323_1", Op::ping, {}), "5323_1 d6:result4:ponge");
    Outcome o;
    o.sdp = "v=0\r\n";
    EXPECT_EQ(encode_ng("c", Op::offer, o), "c d6:result2:ok3:sdp5:v=0\r\ne");
    o.warnings = {"unknown flag loop-protect", "ICE=force-relay ignored"};
    EXPECT_EQ(encode_ng("c", Op::answer, o), "c d6:result2:ok7:warning" +
                                                 b("unknown flag loop-protect; ICE=force-relay ignored") +
                                                 "3:sdp5:v=0\r\ne");
}

TEST(NgEncode, ErrorHasOnlyResultAndReason) {
    Outcome o;
    o.error = "Unknown call-id";
    o.sdp = "ignored";
    o.warnings = {"ignored too"};
    EXPECT_EQ(encode_ng("c9", Op::answer, o), "c9 d6:result5:error12:error-reason15:Unknown call-ide");
}

TEST(NgEncode, QueryHasRtpengineShape) {
    Outcome o;
    CallReport call;
    call.call_id = "c";
    call.created_unix = 1402064111;
    call.last_signal_unix = 1402064116;
    StreamReport s;
    s.index = 1;
    s.media = "audio";
    s.local = *parse_ip("203.0.113.1", 30018);
    s.announced = *parse_ip("10.0.1.2", 6000);
    s.latched = *parse_ip("198.51.100.7", 57370);
    s.received = {343, 56950, 2, 1402064124};
    call.legs.push_back({"caller", {s}});
    s.local.port = 30016;
    s.latched.reset();
    s.received = {362, 43337, 0, 1402064124};
    call.legs.push_back({"callee", {s}});
    o.call = call;

    const std::string reply = encode_ng("q1", Op::query, o);
    ASSERT_EQ(reply.substr(0, 3), "q1 ");
    auto parsed = bencode::parse(reply.substr(3));
    ASSERT_TRUE(parsed);
    const auto& d = parsed->value;
    EXPECT_EQ(d.find("result")->string, "ok");
    EXPECT_EQ(d.find("created")->integer, 1402064111);
    EXPECT_EQ(d.find("last signal")->integer, 1402064116);
    const auto* caller = d.find("tags")->find("caller");
    ASSERT_NE(caller, nullptr);
    EXPECT_EQ(caller->find("tag")->string, "caller");
    EXPECT_EQ(caller->find("in dialogue with")->string, "callee");
    const auto& media = caller->find("medias")->list.at(0);
    EXPECT_EQ(media.find("index")->integer, 1);
    EXPECT_EQ(media.find("type")->string, "audio");
    const auto& stream = media.find("streams")->list.at(0);
    EXPECT_EQ(stream.find("local port")->integer, 30018);
    EXPECT_EQ(stream.find("endpoint")->find("address")->string, "198.51.100.7");
    EXPECT_EQ(stream.find("endpoint")->find("family")->string, "IPv4");
    EXPECT_EQ(stream.find("endpoint")->find("port")->integer, 57370);
    EXPECT_EQ(stream.find("advertised endpoint")->find("address")->string, "10.0.1.2");
    EXPECT_EQ(stream.find("last packet")->integer, 1402064124);
    EXPECT_EQ(stream.find("stats")->find("packets")->integer, 343);
    EXPECT_EQ(stream.find("stats")->find("errors")->integer, 2);
    // Not latched yet: the endpoint is the advertised one.
    const auto& callee_stream =
        d.find("tags")->find("callee")->find("medias")->list.at(0).find("streams")->list.at(0);
    EXPECT_EQ(callee_stream.find("endpoint")->find("address")->string, "10.0.1.2");
    EXPECT_EQ(d.find("totals")->find("RTP")->find("packets")->integer, 705);
    EXPECT_EQ(d.find("totals")->find("RTP")->find("bytes")->integer, 100287);
}

TEST(NgEncode, StreamsOfTwoMediaSectionsAreGrouped) {
    Outcome o;
    CallReport call;
    StreamReport audio;
    audio.index = 1;
    audio.media = "audio";
    StreamReport video = audio;
    video.index = 2;
    video.media = "video";
    call.legs.push_back({"a", {audio, audio, video}});
    o.call = call;
    const std::string reply = encode_ng("q", Op::query, o);
    auto parsed = bencode::parse(reply.substr(2));
    ASSERT_TRUE(parsed);
    const auto& medias = parsed->value.find("tags")->find("a")->find("medias")->list;
    ASSERT_EQ(medias.size(), 2U);
    EXPECT_EQ(medias[0].find("streams")->list.size(), 2U);
    EXPECT_EQ(medias[1].find("type")->string, "video");
    EXPECT_EQ(parsed->value.find("tags")->find("a")->find("in dialogue with"), nullptr);
}

TEST(NgEncode, ListAndStatistics) {
    Outcome o;
    o.call_ids = {"c1", "c2"};
    EXPECT_EQ(encode_ng("l", Op::list, o), "l d6:result2:ok5:callsl2:c12:c2ee");

    Outcome s;
    GlobalStatistics g;
    g.current_calls = 3;
    g.total_calls = 10;
    g.timed_out_calls = 1;
    g.relayed_packets = 1000;
    g.relayed_bytes = 172000;
    g.dropped_packets = 4;
    g.ports_in_use = 12;
    g.ports_free = 988;
    s.statistics = g;
    const std::string reply = encode_ng("s", Op::statistics, s);
    auto parsed = bencode::parse(reply.substr(2));
    ASSERT_TRUE(parsed);
    const auto* stats = parsed->value.find("statistics");
    ASSERT_NE(stats, nullptr);
    EXPECT_EQ(stats->find("currentstatistics")->find("sessionsown")->integer, 3);
    EXPECT_EQ(stats->find("currentstatistics")->find("portsinuse")->integer, 12);
    EXPECT_EQ(stats->find("currentstatistics")->find("portsfree")->integer, 988);
    EXPECT_EQ(stats->find("totalstatistics")->find("managedsessions")->integer, 10);
    EXPECT_EQ(stats->find("totalstatistics")->find("timeoutsessions")->integer, 1);
    EXPECT_EQ(stats->find("totalstatistics")->find("relayedpackets")->integer, 1000);
    EXPECT_EQ(stats->find("totalstatistics")->find("relayedbytes")->integer, 172000);
    EXPECT_EQ(stats->find("totalstatistics")->find("relayedpacketerrors")->integer, 4);
}

TEST(NgEncode, RepliesDecodeAsRtpengineRepliesForKamailio) {
    // Kamailio checks result == "pong" for ping and "ok" for the rest, then reads "sdp".
    Outcome o;
    o.sdp = "v=0\r\n";
    for (const Op op : {Op::offer, Op::answer, Op::remove, Op::start_recording, Op::stop_media}) {
        const std::string reply = encode_ng("x", op, o);
        auto parsed = bencode::parse(reply.substr(2));
        ASSERT_TRUE(parsed);
        EXPECT_EQ(parsed->consumed, reply.size() - 2);
        EXPECT_EQ(parsed->value.find("result")->string, "ok");
    }
}

}  // namespace
}  // namespace sg::relay

namespace sg::relay {
namespace {

TEST(NgStream, FramesBackToBackMessages) {
    const std::string first = "5323_1 d7:command4:pinge";
    const std::string second = "5323_2 d7:command4:list5:limiti32ee";
    std::string buffer = first + "\r\n" + second.substr(0, 10);

    auto f = frame_ng_stream(buffer);
    ASSERT_TRUE(f.done()) << f.error;
    EXPECT_EQ(f.value.skip, 0U);
    EXPECT_EQ(buffer.substr(f.value.skip, f.value.length), first);
    EXPECT_EQ(f.consumed, first.size());
    EXPECT_TRUE(decode_ng(buffer.substr(f.value.skip, f.value.length)).request);
    buffer.erase(0, f.consumed);

    EXPECT_TRUE(frame_ng_stream(buffer).need_more());
    buffer += second.substr(10);
    f = frame_ng_stream(buffer);
    ASSERT_TRUE(f.done()) << f.error;
    EXPECT_EQ(f.value.skip, 2U);  // the line break after the first message
    EXPECT_EQ(buffer.substr(f.value.skip, f.value.length), second);
    EXPECT_EQ(f.consumed, buffer.size());
}

TEST(NgStream, EveryPrefixNeedsMore) {
    const std::string message = "c " + kamailio_offer();
    for (std::size_t n = 0; n < message.size(); ++n)
        ASSERT_TRUE(frame_ng_stream(message.substr(0, n)).need_more()) << n;
    EXPECT_TRUE(frame_ng_stream(message).done());
}

TEST(NgStream, UnrecoverableStreamsAreErrors) {
    EXPECT_TRUE(frame_ng_stream("c d3:sdp100000:").failed());  // longer than any message can be
    EXPECT_TRUE(frame_ng_stream("c1 le").failed());
    EXPECT_TRUE(frame_ng_stream("c1 x").failed());
    EXPECT_TRUE(frame_ng_stream("c1 i03e").failed());
    EXPECT_TRUE(frame_ng_stream(" d7:command4:pinge").failed());  // empty cookie
    EXPECT_TRUE(frame_ng_stream(std::string("c\x01")).failed());
    EXPECT_TRUE(frame_ng_stream(std::string(k_ng_max_cookie, 'c')).need_more());
    EXPECT_TRUE(frame_ng_stream(std::string(k_ng_max_cookie + 1, 'c')).failed());
}

TEST(NgStream, MessageSizeIsBounded) {
    // A string that bencode's limit allows but that makes the message longer than a datagram.
    const std::string head = "c d3:sdp65530:";
    std::string buffer = head + std::string(k_ng_max_datagram - head.size() - 1, 'x');
    EXPECT_TRUE(frame_ng_stream(buffer).need_more());
    buffer += 'x';
    const auto f = frame_ng_stream(buffer);
    ASSERT_TRUE(f.failed());
    EXPECT_EQ(f.error, "ng: message too large");
}

}  // namespace
}  // namespace sg::relay
