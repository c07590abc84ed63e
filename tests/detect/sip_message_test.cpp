#include "detect/sip_message.hpp"

#include <gtest/gtest.h>

#include <string>

namespace sg::detect {
namespace {

const std::string k_invite =
    "INVITE sip:bob@example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.1:5060\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: 10\r\n"
    "\r\n"
    "v=0\r\no=x\r\n";

TEST(SipMessage, Recognises) {
    EXPECT_TRUE(looks_like_sip(k_invite));
    EXPECT_TRUE(looks_like_sip("SIP/2.0 200 OK\r\n"));
    EXPECT_FALSE(looks_like_sip("INVITE rtsp://x SIP/2.0"));
    EXPECT_FALSE(looks_like_sip("GET / HTTP/1.1\r\n"));
}

TEST(SipMessage, RequestWithBody) {
    const auto p = parse_sip_message(k_invite, false);
    ASSERT_TRUE(p.done());
    EXPECT_EQ(p.consumed, k_invite.size());
    EXPECT_TRUE(p.value.is_request);
    EXPECT_EQ(p.value.method, "INVITE");
    EXPECT_EQ(p.value.content_type, "application/sdp");
    EXPECT_EQ(p.value.body, "v=0\r\no=x\r\n");
}

TEST(SipMessage, StreamFramingNeedsTheWholeBody) {
    const auto p = parse_sip_message(k_invite.substr(0, k_invite.size() - 3), false);
    EXPECT_TRUE(p.need_more());
    const auto q = parse_sip_message(k_invite.substr(0, 20), false);
    EXPECT_TRUE(q.need_more());
    // Pipelined: the second message stays unconsumed.
    const auto both = parse_sip_message(k_invite + k_invite, false);
    ASSERT_TRUE(both.done());
    EXPECT_EQ(both.consumed, k_invite.size());
}

TEST(SipMessage, CompactHeadersAndDatagramBodies) {
    const std::string response = "SIP/2.0 200 OK\r\nc: application/sdp\r\n\r\nv=0\r\n";
    const auto p = parse_sip_message(response, true);
    ASSERT_TRUE(p.done());
    EXPECT_FALSE(p.value.is_request);
    EXPECT_EQ(p.value.status, 200);
    EXPECT_EQ(p.value.body, "v=0\r\n");
    // Over a stream a body needs its length.
    EXPECT_TRUE(parse_sip_message(response, false).failed());
}

TEST(SipMessage, Rejects) {
    EXPECT_TRUE(parse_sip_message("SIP/2.0 99 Nope\r\n\r\n", true).failed());
    EXPECT_TRUE(parse_sip_message("HELLO\r\n\r\n", true).failed());
    EXPECT_TRUE(parse_sip_message("SIP/2.0 200 OK\r\nl: 99999999\r\n\r\n", true).failed());
    EXPECT_TRUE(parse_sip_message("SIP/2.0 200 OK\r\nContent-Length: 50\r\n\r\nshort", true).failed());
    EXPECT_TRUE(parse_sip_message(std::string(k_max_sip_header_bytes + 1, 'a'), false).failed());
}

}  // namespace
}  // namespace sg::detect
