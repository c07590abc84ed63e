#include "relay/rtpproxy_codec.hpp"

#include <gtest/gtest.h>

#include <string>

#include "relay/address.hpp"

namespace sg::relay {
namespace {

// Commands as Kamailio 5.6's rtpproxy module writes them: gencookie() is "<pid>_<rand>_<seq> ", then the
// command letter with its modifiers, the fields, and no newline (UDP).
constexpr std::string_view k_call = "a84b4c76e66710@pc33.example.com";

TEST(RtpproxyDecode, VersionHandshakeAsKamailioPingsIt) {
    auto v = decode_rtpproxy("18451_2_0 V");
    ASSERT_TRUE(v.can_reply);
    EXPECT_EQ(v.cookie, "18451_2_0");
    ASSERT_TRUE(v.request) << v.request.error();
    EXPECT_EQ(v.request->op, Op::version);
    EXPECT_EQ(encode_rtpproxy(v.cookie, *v.request, {}), "18451_2_0 20040107\n");

    // rtpp_test(): VF 20050322 is required; 20071116 (re-packetization) and 20081102 (codec lists)
    // are probed.
    for (const auto& [date, answer] : {std::pair<const char*, const char*>{"20050322", "1"},
                                       {"20081102", "1"},
                                       {"20040107", "1"},
                                       {"20090810", "1"},
                                       {"20080403", "1"},
                                       {"20060704", "1"},
                                       {"20071116", "0"},
                                       {"20071218", "0"},
                                       {"20081224", "0"},
                                       {"20150330", "0"},
                                       {"garbage", "0"}}) {
        auto vf = decode_rtpproxy(std::string("18451_2_1 VF ") + date);
        ASSERT_TRUE(vf.request) << date;
        EXPECT_EQ(vf.request->op, Op::version_feature);
        EXPECT_EQ(vf.request->feature, date);
        EXPECT_EQ(encode_rtpproxy(vf.cookie, *vf.request, {}), std::string("18451_2_1 ") + answer + "\n")
            << date;
    }
}

TEST(RtpproxyDecode, OfferFromAnInvite) {
    // rtpproxy_offer("co") on an INVITE from 198.51.100.7 with "m=audio 6000 RTP/AVP 8 101": the node
    // supports codec lists (VF 20081102), so Kamailio appends "c8,101"; no To tag yet.
    const std::string line = "18451_2_2 Uc8,101 " + std::string(k_call) + " 198.51.100.7 6000 1928301774;1";
    auto d = decode_rtpproxy(line);
    ASSERT_TRUE(d.request) << d.request.error();
    const Request& r = *d.request;
    EXPECT_EQ(r.op, Op::offer);
    EXPECT_EQ(r.call_id, k_call);
    EXPECT_EQ(r.speaker_tag, "1928301774");
    EXPECT_EQ(r.peer_tag, "");
    EXPECT_EQ(r.media_index, 1U);
    ASSERT_TRUE(r.media);
    EXPECT_EQ(to_string(*r.media), "198.51.100.7:6000");
    EXPECT_TRUE(d.ignored.empty());

    Outcome o;
    o.media = *parse_ip("203.0.113.1", 35000);
    EXPECT_EQ(encode_rtpproxy(d.cookie, r, o), "18451_2_2 35000 203.0.113.1\n");
}

TEST(RtpproxyDecode, AnswerFromA200OkNamesTheAnswererSecond) {
    // rtpproxy_answer() on the 200 OK: a reply with offer == 0, so Kamailio keeps From/To order: the
    // first tag is the caller (who created the session), the second the callee whose address L carries.
    const std::string line =
        "18451_2_3 Lc8,101 " + std::string(k_call) + " 203.0.113.9 7000 1928301774;1 a6c85cf;1";
    auto d = decode_rtpproxy(line);
    ASSERT_TRUE(d.request) << d.request.error();
    EXPECT_EQ(d.request->op, Op::answer);
    EXPECT_EQ(d.request->speaker_tag, "a6c85cf");
    EXPECT_EQ(d.request->peer_tag, "1928301774");
    EXPECT_EQ(to_string(*d.request->media), "203.0.113.9:7000");
}

TEST(RtpproxyDecode, OfferInAReplyWasAlreadySwappedByKamailio) {
    // Late offer (SDP in the 200 OK): Kamailio swaps, so U's first tag is the callee, the speaker.
    auto d = decode_rtpproxy("c1 U " + std::string(k_call) + " 203.0.113.9 7000 a6c85cf;1 1928301774;1");
    ASSERT_TRUE(d.request);
    EXPECT_EQ(d.request->speaker_tag, "a6c85cf");
    EXPECT_EQ(d.request->peer_tag, "1928301774");
}

TEST(RtpproxyDecode, BridgingIpv6AndModifiers) {
    // rtpproxy_offer("x") for an IPv6 SDP: autobridge appends "EI" then "6".
    auto d =
        decode_rtpproxy("c2 UAEI6Z20c0,8,101 " + std::string(k_call) + ";z9hG4bK776 2001:db8::9 6000 t1;2");
    ASSERT_TRUE(d.request) << d.request.error();
    const Request& r = *d.request;
    EXPECT_TRUE(r.options.asymmetric);
    ASSERT_EQ(r.options.direction.size(), 2U);
    EXPECT_EQ(r.options.direction[0], "external");
    EXPECT_EQ(r.options.direction[1], "internal");
    EXPECT_EQ(r.media->family, Family::ip6);
    EXPECT_EQ(r.call_id, k_call);
    EXPECT_EQ(r.via_branch, "z9hG4bK776");
    EXPECT_EQ(r.media_index, 2U);
    ASSERT_EQ(d.ignored.size(), 1U);
    EXPECT_EQ(d.ignored[0], "Z20");

    Outcome o;
    o.media = *parse_ip("2001:db8::1", 35002);
    EXPECT_EQ(encode_rtpproxy(d.cookie, r, o), "c2 35002 2001:db8::1 6\n");
}

TEST(RtpproxyDecode, SymmetricWeakAndAddressModifiers) {
    auto d = decode_rtpproxy("c3 USWL192.0.2.1R[2001:db8::1]n c 192.0.2.7 0 t");
    ASSERT_TRUE(d.request) << d.request.error();
    EXPECT_FALSE(d.request->options.asymmetric);
    EXPECT_EQ(d.request->media->port, 0);  // port 0: a disabled stream, still a valid command
    ASSERT_EQ(d.ignored.size(), 4U);
    EXPECT_EQ(d.ignored[0], "W");
    EXPECT_EQ(d.ignored[1], "L192.0.2.1");
    EXPECT_EQ(d.ignored[2], "R[2001:db8::1]");
    EXPECT_EQ(d.ignored[3], "n");
}

TEST(RtpproxyDecode, NotifySocketIsAcceptedAndNoted) {
    auto d = decode_rtpproxy("c4 U c 192.0.2.7 4000 t1;1 t2;1 unix:/var/run/kamailio/timeout.sock");
    ASSERT_TRUE(d.request) << d.request.error();
    ASSERT_EQ(d.ignored.size(), 1U);
    EXPECT_EQ(d.ignored[0], "notify socket");
}

TEST(RtpproxyDecode, DeleteQueryRecordPlayStop) {
    auto del = decode_rtpproxy("18451_2_4 D " + std::string(k_call) + " 1928301774 a6c85cf");
    ASSERT_TRUE(del.request);
    EXPECT_EQ(del.request->op, Op::remove);
    EXPECT_EQ(del.request->speaker_tag, "1928301774");
    EXPECT_EQ(del.request->peer_tag, "a6c85cf");
    EXPECT_EQ(encode_rtpproxy(del.cookie, *del.request, {}), "18451_2_4 0\n");

    auto no_to = decode_rtpproxy("c D c1 ft");
    ASSERT_TRUE(no_to.request);
    EXPECT_EQ(no_to.request->peer_tag, "");

    // $rtpstat: "Q callid fromtag;1 totag".
    auto q = decode_rtpproxy("18451_2_6 Q " + std::string(k_call) + " 1928301774;1 a6c85cf");
    ASSERT_TRUE(q.request);
    EXPECT_EQ(q.request->op, Op::query);
    EXPECT_EQ(q.request->media_index, 1U);

    auto r = decode_rtpproxy("18451_2_5 R " + std::string(k_call) + " 1928301774 a6c85cf");
    ASSERT_TRUE(r.request);
    EXPECT_EQ(r.request->op, Op::start_recording);

    // rtpproxy_stream2uac("/var/moh.wav", 5): "P5 callid prompt session fromtag;1 totag;1".
    auto p = decode_rtpproxy("c P5 " + std::string(k_call) + " /var/moh.wav session 1928301774;1 a6c85cf;1");
    ASSERT_TRUE(p.request) << p.request.error();
    EXPECT_EQ(p.request->op, Op::play_media);
    EXPECT_EQ(p.request->file, "/var/moh.wav");
    EXPECT_EQ(p.request->repeat_times, 5U);
    EXPECT_EQ(p.request->speaker_tag, "1928301774");
    EXPECT_TRUE(p.ignored.empty());
    auto p_codecs = decode_rtpproxy("c P c /m.wav 0,8 ft");
    ASSERT_TRUE(p_codecs.request);
    EXPECT_EQ(p_codecs.request->repeat_times, 1U);
    ASSERT_EQ(p_codecs.ignored.size(), 1U);

    // rtpproxy_stream2uac(prompt, -1) plays until stopped; "P0" only stops.
    auto forever = decode_rtpproxy("c P-1 call /m.wav session ft;1 tt;1");
    ASSERT_TRUE(forever.request) << forever.request.error();
    EXPECT_EQ(forever.request->op, Op::play_media);
    EXPECT_EQ(forever.request->repeat_times, 0U);
    auto p0 = decode_rtpproxy("c P0 call /m.wav session ft;1 tt;1");
    ASSERT_TRUE(p0.request);
    EXPECT_EQ(p0.request->op, Op::stop_media);
    EXPECT_TRUE(p0.request->file.empty());

    auto s = decode_rtpproxy("c S " + std::string(k_call) + " 1928301774;1 a6c85cf;1");
    ASSERT_TRUE(s.request);
    EXPECT_EQ(s.request->op, Op::stop_media);
    EXPECT_EQ(encode_rtpproxy(s.cookie, *s.request, {}), "c 0\n");
}

TEST(RtpproxyEncode, QueryCountsPerSide) {
    auto q = decode_rtpproxy("c Q call t1;1 t2;1");
    ASSERT_TRUE(q.request);
    Outcome o;
    o.ttl_seconds = 57;
    CallReport call;
    StreamReport s;
    s.index = 1;
    s.received = {100, 17200, 3, 0};
    call.legs.push_back({"t1", {s}});
    s.received = {90, 15480, 1, 0};
    call.legs.push_back({"t2", {s}});
    s.index = 2;  // another media section: not this query's
    s.received = {1000, 1, 1, 0};
    call.legs[1].streams.push_back(s);
    o.call = call;
    EXPECT_EQ(encode_rtpproxy(q.cookie, *q.request, o), "c 57 100 90 190 4\n");
}

TEST(RtpproxyEncode, InfoText) {
    auto i = decode_rtpproxy("c Ib");
    ASSERT_TRUE(i.request);
    EXPECT_TRUE(i.brief_info);
    Outcome o;
    GlobalStatistics g;
    g.total_calls = 7;
    g.current_calls = 2;
    g.ports_in_use = 8;
    g.relayed_packets = 500;
    g.dropped_packets = 5;
    o.statistics = g;
    EXPECT_EQ(encode_rtpproxy(i.cookie, *i.request, o),
              "c sessions created: 7\nactive sessions: 2\nactive streams: 4\npackets received: 505\n"
              "packets transmitted: 500\n");
}

TEST(RtpproxyEncode, ErrorsAndLookupMisses) {
    auto l = decode_rtpproxy("c L call 192.0.2.1 4000 t1 t2");
    ASSERT_TRUE(l.request);
    Outcome missing;
    missing.error = "session not found";
    missing.rtpproxy_error = k_rtpp_e_session_not_found;
    EXPECT_EQ(encode_rtpproxy(l.cookie, *l.request, missing), "c E50\n");
    EXPECT_EQ(encode_rtpproxy(l.cookie, *l.request, {}), "c 0\n");  // no address: rtpproxy's "port 0"
    EXPECT_EQ(encode_rtpproxy_error("c", k_rtpp_e_syntax), "c E1\n");
}

TEST(RtpproxyDecode, LineBreaksSeparateFieldsAsInRtpproxy) {
    auto d = decode_rtpproxy("c\tU\r\ncall 192.0.2.7\t4000 t1;1\r\n");
    ASSERT_TRUE(d.request) << d.request.error();
    EXPECT_EQ(d.request->call_id, "call");
    auto load = decode_rtpproxy("c Ibl");
    ASSERT_TRUE(load.request);
    EXPECT_TRUE(load.brief_info);
}

TEST(RtpproxyDecode, UnixSocketHasNoCookie) {
    auto d = decode_rtpproxy("V\n", false);
    EXPECT_TRUE(d.can_reply);
    EXPECT_TRUE(d.cookie.empty());
    ASSERT_TRUE(d.request);
    EXPECT_EQ(encode_rtpproxy(d.cookie, *d.request, {}), "20040107\n");
    auto u = decode_rtpproxy("U c 192.0.2.7 4000 t1;1\n", false);
    ASSERT_TRUE(u.request) << u.request.error();
    EXPECT_EQ(u.request->op, Op::offer);
}

struct BadLine {
    std::string line;
    int code;
};

class RtpproxyRefuses : public ::testing::TestWithParam<BadLine> {};

TEST_P(RtpproxyRefuses, WithCode) {
    auto d = decode_rtpproxy(GetParam().line);
    ASSERT_TRUE(d.can_reply) << GetParam().line;
    EXPECT_EQ(d.cookie, "c");
    ASSERT_FALSE(d.request) << GetParam().line;
    EXPECT_EQ(d.error_code, GetParam().code) << GetParam().line;
    EXPECT_EQ(encode_rtpproxy_error(d.cookie, d.error_code), "c E" + std::to_string(GetParam().code) + "\n");
}

INSTANTIATE_TEST_SUITE_P(
    RtpproxyDecode, RtpproxyRefuses,
    ::testing::Values(BadLine{"c", k_rtpp_e_syntax}, BadLine{"c   ", k_rtpp_e_syntax},
                      BadLine{"c X", k_rtpp_e_unknown_command}, BadLine{"c G call", k_rtpp_e_unknown_command},
                      BadLine{"c VX", k_rtpp_e_modifiers}, BadLine{"c VF", k_rtpp_e_syntax},
                      BadLine{"c VF 1 2", k_rtpp_e_syntax}, BadLine{"c V a b", k_rtpp_e_syntax},
                      BadLine{"c U call 192.0.2.1 4000", k_rtpp_e_syntax},
                      BadLine{"c L call 192.0.2.1 4000 t1", k_rtpp_e_syntax},
                      BadLine{"c U call 192.0.2.1 70000 t1", k_rtpp_e_invalid_argument},
                      BadLine{"c U call 192.0.2.1 -1 t1", k_rtpp_e_invalid_argument},
                      BadLine{"c U call example.com 4000 t1", k_rtpp_e_invalid_argument},
                      BadLine{"c U6 call 192.0.2.1 4000 t1", k_rtpp_e_invalid_argument},
                      BadLine{"c U call 192.0.2.1 4000 t1;0", k_rtpp_e_invalid_argument},
                      BadLine{"c U call 192.0.2.1 4000 t1;x", k_rtpp_e_invalid_argument},
                      BadLine{"c U call 192.0.2.1 4000 ;1", k_rtpp_e_syntax},
                      BadLine{"c UZ call 192.0.2.1 4000 t1", k_rtpp_e_modifiers},
                      BadLine{"c ULfoo call 192.0.2.1 4000 t1", k_rtpp_e_modifiers},
                      BadLine{"c UIEI call 192.0.2.1 4000 t1", k_rtpp_e_modifiers},
                      BadLine{"c D call", k_rtpp_e_syntax}, BadLine{"c D call a b c", k_rtpp_e_syntax},
                      BadLine{"c P99999999 call f session t", k_rtpp_e_modifiers},
                      BadLine{"c P call f session", k_rtpp_e_syntax},
                      BadLine{"c P2x call f session t", k_rtpp_e_modifiers},
                      BadLine{"c P-0 call f session t", k_rtpp_e_modifiers},
                      BadLine{"c P- call f session t", k_rtpp_e_modifiers},
                      BadLine{"c Ix", k_rtpp_e_modifiers}, BadLine{"c I extra", k_rtpp_e_syntax},
                      BadLine{"c U a b c d e f g h i j k l m n o p q", k_rtpp_e_syntax},
                      BadLine{"c U call 192.0.2.1 4000 " + std::string(k_rtpp_max_line, 't'),
                              k_rtpp_e_syntax}));

TEST(RtpproxyDecode, NoUsableCookieMeansNoReply) {
    EXPECT_FALSE(decode_rtpproxy("").can_reply);
    EXPECT_FALSE(decode_rtpproxy("   \n").can_reply);
    EXPECT_FALSE(decode_rtpproxy(std::string(k_rtpp_max_cookie + 1, 'c') + " V").can_reply);
    EXPECT_FALSE(decode_rtpproxy(std::string("c\x01 V")).can_reply);
    EXPECT_TRUE(decode_rtpproxy(std::string(k_rtpp_max_cookie, 'c') + " V").can_reply);
}

TEST(RtpproxyDecode, FieldLimitIsExact) {
    // A Q with counters: cookie + 16 fields is the most we take.
    std::string line = "c Q call t1 t2";
    for (int i = 0; i < 12; ++i)
        line += " n" + std::to_string(i);
    auto ok = decode_rtpproxy(line);
    EXPECT_TRUE(ok.request) << ok.request.error();
    auto refused = decode_rtpproxy(line + " one-more");
    EXPECT_FALSE(refused.request);
    EXPECT_EQ(refused.error_code, k_rtpp_e_syntax);
}

}  // namespace
}  // namespace sg::relay
