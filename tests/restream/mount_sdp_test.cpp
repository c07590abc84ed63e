#include "restream/mount_sdp.hpp"

#include <gtest/gtest.h>

#include "sdp/sdp.hpp"

namespace sg::proxy {
namespace {

constexpr std::string_view k_upstream =
    "v=0\r\n"
    "o=- 1 1 IN IP4 192.0.2.10\r\n"
    "s=Session\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "t=0 0\r\n"
    "a=control:rtsp://192.0.2.10:8554/test\r\n"
    "a=range:npt=0-\r\n"
    "m=video 0 RTP/AVP 96\r\n"
    "a=rtpmap:96 H264/90000\r\n"
    "a=fmtp:96 packetization-mode=1;sprop-parameter-sets=Z0LAHtkDxWhAAAADAEAAAAwDxYuS,aMuMsg==\r\n"
    "a=control:rtsp://192.0.2.10:8554/test/stream=0\r\n"
    "m=application 0 TCP/XYZ 0\r\n"
    "a=control:stream=9\r\n"
    "m=audio 0 RTP/AVP 0\r\n"
    "a=control:stream=1\r\n";

TEST(MountSdp, GatewayAddressInThePlayersFamilyAndRelativeControls) {
    const auto text = mount_sdp(k_upstream, "2001:db8::1", true);
    ASSERT_TRUE(text.ok()) << text.error();
    const auto sd = sdp::parse(*text);
    ASSERT_TRUE(sd.ok());
    EXPECT_EQ(sd->origin.addrtype, "IP6");
    EXPECT_EQ(sd->origin.address, "2001:db8::1");
    ASSERT_TRUE(sd->connection.has_value());
    EXPECT_EQ(sd->connection->addrtype, "IP6");
    ASSERT_EQ(sd->media.size(), 2U);  // the non-RTP section is gone
    EXPECT_EQ(sd->media[0].media, "video");
    EXPECT_EQ(sd->media[1].media, "audio");
    EXPECT_NE(text->find("a=control:*\r\n"), std::string::npos);
    EXPECT_NE(text->find("a=control:track0\r\n"), std::string::npos);
    EXPECT_NE(text->find("a=control:track1\r\n"), std::string::npos);
    EXPECT_EQ(text->find("192.0.2.10"), std::string::npos);  // nothing points at the origin any more
    // What a late joiner needs to decode at once, and the range, are kept.
    EXPECT_NE(text->find("sprop-parameter-sets=Z0LAHtkDxWhAAAADAEAAAAwDxYuS,aMuMsg=="), std::string::npos);
    EXPECT_NE(text->find("a=range:npt=0-\r\n"), std::string::npos);
}

TEST(MountSdp, MediaLevelConnectionsAreRewrittenToo) {
    const std::string upstream =
        "v=0\r\no=- 1 1 IN IP6 2001:db8::5\r\ns=x\r\nt=0 0\r\nm=video 5000 RTP/AVP 96\r\n"
        "c=IN IP6 2001:db8::5\r\na=rtpmap:96 H264/90000\r\n";
    const auto text = mount_sdp(upstream, "198.51.100.1", false);
    ASSERT_TRUE(text.ok()) << text.error();
    const auto sd = sdp::parse(*text);
    ASSERT_TRUE(sd.ok());
    ASSERT_EQ(sd->media.size(), 1U);
    ASSERT_EQ(sd->media[0].connections.size(), 1U);
    EXPECT_EQ(sd->media[0].connections[0].address, "198.51.100.1");
    EXPECT_EQ(sd->media[0].port, 0);
    EXPECT_EQ(text->find("2001:db8::5"), std::string::npos);
}

TEST(MountSdp, RefusesWhatIsNotUsable) {
    EXPECT_FALSE(mount_sdp("not sdp", "127.0.0.1", false).ok());
    EXPECT_FALSE(mount_sdp("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=x\r\nt=0 0\r\nm=application 9 TCP/X 0\r\n",
                           "127.0.0.1", false)
                     .ok());
    EXPECT_FALSE(mount_sdp(k_upstream, "bad address", false).ok());
}

TEST(MountSdp, TrackEncodingsInTrackOrder) {
    const auto encodings = mount_track_encodings(k_upstream);
    ASSERT_EQ(encodings.size(), 2U);
    EXPECT_EQ(encodings[0], "H264");
    EXPECT_EQ(encodings[1], "PCMU");  // static payload type 0 (RFC 3551), no rtpmap needed
    EXPECT_TRUE(mount_track_encodings("garbage").empty());
}

}  // namespace
}  // namespace sg::proxy
