#include "alg/sdp_family_rewrite.hpp"

#include <gtest/gtest.h>

namespace sg::alg {
namespace {

// What GstRtspServer on an IPv4 origin answers to DESCRIBE (trimmed).
constexpr std::string_view k_ipv4_origin =
    "v=0\r\n"
    "o=- 1188340656180883 1 IN IP4 198.18.3.2\r\n"
    "s=Session streamed with GStreamer\r\n"
    "c=IN IP4 198.18.3.2\r\n"
    "t=0 0\r\n"
    "a=control:*\r\n"
    "m=video 0 RTP/AVP 96\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=rtpmap:96 H264/90000\r\n"
    "a=control:rtsp://198.18.3.2:8554/test/stream=0\r\n";

TEST(SdpFamilyRewrite, IPv4DescriptionForAnIPv6ClientNamesTheGateway) {
    const auto rewritten = rewrite_sdp_family(k_ipv4_origin, "2001:2:0:2::1", true);
    ASSERT_TRUE(rewritten.has_value());
    EXPECT_EQ(*rewritten,
              "v=0\r\n"
              "o=- 1188340656180883 1 IN IP6 2001:2:0:2::1\r\n"
              "s=Session streamed with GStreamer\r\n"
              "c=IN IP6 2001:2:0:2::1\r\n"
              "t=0 0\r\n"
              "a=control:*\r\n"
              "m=video 0 RTP/AVP 96\r\n"
              "c=IN IP6 2001:2:0:2::1\r\n"
              "a=rtpmap:96 H264/90000\r\n"
              "a=control:rtsp://198.18.3.2:8554/test/stream=0\r\n")
        << "only o= and c= change; the control URL stays the origin's";
}

TEST(SdpFamilyRewrite, SameFamilyIsLeftAlone) {
    EXPECT_FALSE(rewrite_sdp_family(k_ipv4_origin, "198.18.1.1", false).has_value());
}

TEST(SdpFamilyRewrite, IPv6DescriptionForAnIPv4Client) {
    const auto rewritten = rewrite_sdp_family(
        "v=0\r\no=- 1 1 IN IP6 2001:2:0:4::2\r\ns=x\r\nc=IN IP6 2001:2:0:4::2\r\nt=0 0\r\nm=audio 0 RTP/AVP "
        "8\r\n",
        "198.18.1.1", false);
    ASSERT_TRUE(rewritten.has_value());
    EXPECT_NE(rewritten->find("c=IN IP4 198.18.1.1\r\n"), std::string::npos) << *rewritten;
    EXPECT_NE(rewritten->find("o=- 1 1 IN IP4 198.18.1.1\r\n"), std::string::npos) << *rewritten;
}

TEST(SdpFamilyRewrite, MulticastAndUnparsableDescriptionsAreLeftAlone) {
    EXPECT_FALSE(rewrite_sdp_family("v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=x\r\nc=IN IP4 239.1.2.3/16\r\nt=0 "
                                    "0\r\nm=video 5000 RTP/AVP 96\r\n",
                                    "2001:db8::1", true)
                     .has_value());
    EXPECT_FALSE(rewrite_sdp_family("v=0\r\nc=IN IP6 ff0e::1\r\n", "198.18.1.1", false).has_value());
    EXPECT_FALSE(rewrite_sdp_family("not an sdp", "2001:db8::1", true).has_value());
}

}  // namespace
}  // namespace sg::alg
