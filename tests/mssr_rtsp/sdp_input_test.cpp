#include "mssr_rtsp/sdp_input.hpp"

#include <gtest/gtest.h>

namespace sg::mssr {
namespace {

// What ffmpeg's RTP muxer writes with -sdp_file for an H.264 + AAC file sent to two ports.
constexpr const char* k_ffmpeg_sdp =
    "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=No Name\r\nt=0 0\r\na=tool:libavformat\r\n"
    "m=video 5004 RTP/AVP 96\r\nc=IN IP4 127.0.0.1\r\nb=AS:1809\r\na=rtpmap:96 H264/90000\r\n"
    "a=fmtp:96 packetization-mode=1; sprop-parameter-sets=Z2QAHqzZQKAv+XARAAADAAEAAAMAMg8WLZY=,aO+8sA==\r\n"
    "m=audio 5006 RTP/AVP 97\r\nc=IN IP4 127.0.0.1\r\na=rtpmap:97 MPEG4-GENERIC/44100/1\r\n";

TEST(MssrSdpInput, TakesEveryRtpSectionWithItsAddressAndPort) {
    const auto tracks = sdp_input_tracks(k_ffmpeg_sdp);
    ASSERT_TRUE(tracks.ok()) << tracks.error();
    ASSERT_EQ(tracks->size(), 2u);
    EXPECT_EQ((*tracks)[0].media, "video");
    EXPECT_EQ((*tracks)[0].address.to_string(), "127.0.0.1");
    EXPECT_EQ((*tracks)[0].port, 5004);
    EXPECT_EQ((*tracks)[1].media, "audio");
    EXPECT_EQ((*tracks)[1].port, 5006);
}

TEST(MssrSdpInput, ASectionWithoutItsOwnAddressUsesTheSessionsOne) {
    const auto tracks = sdp_input_tracks(
        "v=0\r\no=- 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ff15::1:2\r\nt=0 0\r\nm=video 6000 RTP/AVP 96\r\n"
        "a=rtpmap:96 H264/90000\r\n");
    ASSERT_TRUE(tracks.ok()) << tracks.error();
    ASSERT_EQ(tracks->size(), 1u);
    EXPECT_TRUE((*tracks)[0].address.is_multicast());
    EXPECT_EQ((*tracks)[0].port, 6000);
}

TEST(MssrSdpInput, RefusesWhatCannotBeReceived) {
    const std::string head = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";
    for (const std::string& bad : {
             std::string("not an SDP"),
             head,                                                             // no m= at all
             head + "m=video 5004 RTP/AVP 96\r\n",                             // no c= anywhere
             head + "m=video 0 RTP/AVP 96\r\nc=IN IP4 127.0.0.1\r\n",          // disabled
             head + "m=video 5004/2 RTP/AVP 96\r\nc=IN IP4 127.0.0.1\r\n",     // two ports
             head + "m=application 5004 udp wb\r\nc=IN IP4 127.0.0.1\r\n",     // not RTP
             head + "m=video 5004 RTP/AVP 96\r\nc=IN IP4 camera.example\r\n",  // a name
             head + "m=video 5004 RTP/AVP 96\r\nc=IN IP6 127.0.0.1\r\n",       // wrong family
         }) {
        EXPECT_FALSE(sdp_input_tracks(bad).ok()) << bad;
    }
}

}  // namespace
}  // namespace sg::mssr
