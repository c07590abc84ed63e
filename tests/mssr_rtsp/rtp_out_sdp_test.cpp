#include "mssr_rtsp/rtp_out_sdp.hpp"

#include <gtest/gtest.h>

namespace sg::mssr {
namespace {

constexpr std::string_view k_origin =
    "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=clip\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\na=control:*\r\n"
    "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 "
    "packetization-mode=1\r\na=control:trackID=0\r\n"
    "m=application 0 TCP/WSS *\r\n"
    "m=audio 0 RTP/AVP 97\r\na=rtpmap:97 MPEG4-GENERIC/48000/2\r\na=control:trackID=1\r\n";

TEST(RtpOutSdp, TracksGetConsecutivePortPairsAtTheGivenAddress) {
    const auto sdp = rtp_out_sdp(k_origin, "127.0.0.1", false, 5004);
    ASSERT_TRUE(sdp) << sdp.error();
    EXPECT_NE(sdp->find("c=IN IP4 127.0.0.1\r\n"), std::string::npos) << *sdp;
    EXPECT_NE(sdp->find("m=video 5004 RTP/AVP 96\r\n"), std::string::npos) << *sdp;
    EXPECT_NE(sdp->find("m=audio 5006 RTP/AVP 97\r\n"), std::string::npos) << *sdp;  // the 2nd RTP track
    EXPECT_EQ(sdp->find("m=application"), std::string::npos) << *sdp;  // not RTP: not re-emitted
    EXPECT_NE(sdp->find("a=fmtp:96 packetization-mode=1\r\n"), std::string::npos) << *sdp;
    EXPECT_EQ(rtp_out_port(5004, 1), 5006);
}

TEST(RtpOutSdp, IPv6AndRefusals) {
    const auto v6 = rtp_out_sdp(k_origin, "::1", true, 5004);
    ASSERT_TRUE(v6);
    EXPECT_NE(v6->find("c=IN IP6 ::1\r\n"), std::string::npos) << *v6;
    EXPECT_FALSE(rtp_out_sdp(k_origin, "127.0.0.1", false, 65534));  // the audio track would need 65536
    EXPECT_TRUE(rtp_out_sdp(k_origin, "127.0.0.1", false, 65532));
    EXPECT_FALSE(rtp_out_sdp("not sdp", "127.0.0.1", false, 5004));
}

}  // namespace
}  // namespace sg::mssr
