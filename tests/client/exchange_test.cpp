// Request building, 401 answers checked with the server-side verifier, Transport offers and answers.
#include "client/exchange.hpp"

#include <gtest/gtest.h>

namespace sg::client {
namespace {

rtsp::Response unauthorized(std::string_view challenge) {
    rtsp::Response r;
    r.status = 401;
    r.headers.add("WWW-Authenticate", challenge);
    return r;
}

TEST(MakeRequest, CarriesCSeqSessionAndExtraHeaders) {
    rtsp::Headers extra;
    extra.add("Transport", "RTP/AVP;unicast;client_port=5000-5001");
    const auto r = make_request("SETUP", "rtsp://h/a/stream=0", 7, "abc123", extra);
    EXPECT_EQ(r.method, "SETUP");
    EXPECT_EQ(r.uri, "rtsp://h/a/stream=0");
    ASSERT_NE(r.headers.get("CSeq"), nullptr);
    EXPECT_EQ(*r.headers.get("CSeq"), "7");
    ASSERT_NE(r.headers.get("Session"), nullptr);
    EXPECT_EQ(*r.headers.get("Session"), "abc123");
    ASSERT_NE(r.headers.get("Transport"), nullptr);
    EXPECT_EQ(make_request("OPTIONS", "*", 1, "").headers.get("Session"), nullptr);
}

TEST(Authenticator, NothingBeforeAChallengeAndNothingWithoutCredentials) {
    Authenticator none;
    EXPECT_FALSE(none.on_unauthorized(unauthorized("Basic realm=\"x\"")));
    Authenticator with("user", "secret");
    EXPECT_FALSE(with.authorization("DESCRIBE", "rtsp://h/a").has_value());
    EXPECT_FALSE(with.on_unauthorized(unauthorized("Bearer realm=\"x\"")));
}

TEST(Authenticator, BasicSendsTheCredentials) {
    Authenticator auth("user", "secret");
    ASSERT_TRUE(auth.on_unauthorized(unauthorized("Basic realm=\"cam\"")));
    const auto value = auth.authorization("DESCRIBE", "rtsp://h/a");
    ASSERT_TRUE(value.has_value());
    const auto parsed = rtsp::parse_authorization(*value);
    ASSERT_TRUE(parsed.ok());
    const auto* basic = std::get_if<rtsp::BasicCredentials>(&*parsed);
    ASSERT_NE(basic, nullptr);
    EXPECT_TRUE(rtsp::verify_basic(*basic, "user", "secret"));
}

TEST(Authenticator, DigestAnswersVerifyForEachMethodAndUriWithIncreasingNonceCount) {
    Authenticator auth("user", "secret");
    ASSERT_TRUE(auth.on_unauthorized(unauthorized(
        "Basic realm=\"cam\", Digest realm=\"cam\", nonce=\"abc\", qop=\"auth\", algorithm=MD5")));
    std::uint32_t last_nc = 0;
    for (const auto& [method, uri] :
         {std::pair{"DESCRIBE", "rtsp://h/a"}, std::pair{"SETUP", "rtsp://h/a/s=0"}}) {
        const auto value = auth.authorization(method, uri);
        ASSERT_TRUE(value.has_value());
        const auto parsed = rtsp::parse_authorization(*value);
        ASSERT_TRUE(parsed.ok()) << *value;
        const auto* digest = std::get_if<rtsp::DigestCredentials>(&*parsed);
        ASSERT_NE(digest, nullptr);  // Digest preferred over Basic
        EXPECT_EQ(digest->uri, uri);
        EXPECT_EQ(digest->nonce, "abc");
        EXPECT_TRUE(rtsp::verify_digest(*digest, "secret", method));
        EXPECT_FALSE(rtsp::verify_digest(*digest, "wrong", method));
        ASSERT_TRUE(digest->nc.has_value());
        EXPECT_GT(*digest->nc, last_nc);
        last_nc = *digest->nc;
    }
}

TEST(Transport, OffersParseBackAsTheRightSpec) {
    const auto udp = rtsp::parse_transport_spec(udp_transport(50000));
    ASSERT_TRUE(udp.ok());
    EXPECT_TRUE(udp->is_udp());
    EXPECT_EQ(udp->delivery, rtsp::Delivery::unicast);
    EXPECT_EQ(udp->client_port, (rtsp::PortRange{50000, 50001}));
    const auto tcp = rtsp::parse_transport_spec(tcp_transport(4));
    ASSERT_TRUE(tcp.ok());
    EXPECT_TRUE(tcp->is_tcp());
    EXPECT_EQ(tcp->interleaved, (rtsp::ChannelRange{4, 5}));
}

rtsp::Response setup_reply(std::string_view transport) {
    rtsp::Response r;
    r.headers.add("Transport", transport);
    r.headers.add("Session", "s1;timeout=30");
    return r;
}

TEST(Transport, AcceptsOnlyAnAnswerOfTheOfferedKind) {
    const auto udp = accepted_transport(
        setup_reply("RTP/AVP;unicast;client_port=50000-50001;server_port=6000-6001;ssrc=1A2B3C4D"), false);
    ASSERT_TRUE(udp.ok());
    EXPECT_EQ(udp->server_port, (rtsp::PortRange{6000, 6001}));
    EXPECT_EQ(udp->ssrc, 0x1A2B3C4Du);
    EXPECT_TRUE(accepted_transport(setup_reply("RTP/AVP/TCP;unicast;interleaved=2-3"), true).ok());
    EXPECT_FALSE(accepted_transport(setup_reply("RTP/AVP/TCP;unicast;interleaved=2-3"), false).ok());
    EXPECT_FALSE(accepted_transport(setup_reply("RTP/AVP;unicast;client_port=1-2"), true).ok());
    EXPECT_FALSE(accepted_transport(setup_reply("RTP/AVP/TCP;unicast"), true).ok());  // no channels
    EXPECT_FALSE(accepted_transport(setup_reply("RTP/AVP;unicast,RTP/AVP/TCP;unicast"), false).ok());
    EXPECT_FALSE(accepted_transport(rtsp::Response{}, false).ok());
}

TEST(Session, IdAndTimeoutFromTheReply) {
    const auto s = reply_session(setup_reply("RTP/AVP"));
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->id, "s1");
    EXPECT_EQ(s->timeout_or_default(), 30u);
    EXPECT_FALSE(reply_session(rtsp::Response{}).ok());
}

}  // namespace
}  // namespace sg::client
