// DESCRIBE replies as servers write them -> the tracks a player sets up.
#include "client/presentation.hpp"

#include <gtest/gtest.h>

namespace sg::client {
namespace {

// What GstRtspServer answers for a H.264 + PCMA test pattern (abridged).
constexpr std::string_view k_gstreamer_sdp =
    "v=0\r\n"
    "o=- 1188340656180883 1 IN IP4 127.0.0.1\r\n"
    "s=Session streamed with GStreamer\r\n"
    "t=0 0\r\n"
    "a=tool:GStreamer\r\n"
    "a=type:broadcast\r\n"
    "a=control:*\r\n"
    "a=range:npt=0-12.5\r\n"
    "m=video 0 RTP/AVP 96\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=rtpmap:96 H264/90000\r\n"
    "a=control:stream=0\r\n"
    "m=audio 0 RTP/AVP 8\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=control:stream=1\r\n";

rtsp::Response reply_with(std::string_view name, std::string_view value) {
    rtsp::Response r;
    r.headers.add(name, value);
    return r;
}

TEST(BaseUrl, PrefersContentBaseThenContentLocationThenTheRequest) {
    EXPECT_EQ(base_url(reply_with("Content-Base", "rtsp://h/live/"), "rtsp://h/x"), "rtsp://h/live/");
    EXPECT_EQ(base_url(reply_with("Content-Location", "rtsp://h/loc/"), "rtsp://h/x"), "rtsp://h/loc/");
    EXPECT_EQ(base_url(reply_with("Content-Location", "other/"), "rtsp://h/dir/x"), "rtsp://h/dir/other/");
    EXPECT_EQ(base_url(rtsp::Response{}, "rtsp://h/x"), "rtsp://h/x");
}

TEST(Presentation, GstreamerTracksResolveAgainstContentBase) {
    const auto p = parse_presentation(k_gstreamer_sdp, "rtsp://198.18.3.2:8554/test/");
    ASSERT_TRUE(p.ok()) << p.error();
    EXPECT_EQ(p->aggregate_url, "rtsp://198.18.3.2:8554/test/");
    ASSERT_EQ(p->tracks.size(), 2u);
    EXPECT_EQ(p->tracks[0].control_url, "rtsp://198.18.3.2:8554/test/stream=0");
    EXPECT_EQ(p->tracks[0].media, "video");
    EXPECT_EQ(p->tracks[0].payload_types, std::vector<std::uint8_t>{96});
    EXPECT_EQ(p->tracks[0].clock_rate, 90000u);
    EXPECT_EQ(p->tracks[0].encoding, "H264");
    EXPECT_EQ(p->tracks[1].encoding, "PCMA");  // static payload type 8, no rtpmap
    EXPECT_EQ(p->tracks[1].control_url, "rtsp://198.18.3.2:8554/test/stream=1");
    EXPECT_EQ(p->tracks[1].clock_rate, 8000u);  // static payload type 8 (RFC 3551), no rtpmap
    ASSERT_TRUE(p->duration_s.has_value());
    EXPECT_DOUBLE_EQ(*p->duration_s, 12.5);
}

TEST(Presentation, AbsoluteControlsAndMediaLevelRange) {
    const auto p = parse_presentation(
        "v=0\r\no=- 1 1 IN IP6 ::1\r\ns=x\r\nt=0 0\r\n"
        "m=video 0 RTP/AVP 97\r\na=rtpmap:97 H265/90000\r\na=range:npt=2-7\r\n"
        "a=control:rtsp://[2001:db8::1]/cam/track1\r\n",
        "rtsp://[2001:db8::1]/cam");
    ASSERT_TRUE(p.ok()) << p.error();
    EXPECT_EQ(p->aggregate_url, "rtsp://[2001:db8::1]/cam");  // no session a=control: the base itself
    ASSERT_EQ(p->tracks.size(), 1u);
    EXPECT_EQ(p->tracks[0].control_url, "rtsp://[2001:db8::1]/cam/track1");
    ASSERT_TRUE(p->duration_s.has_value());
    EXPECT_DOUBLE_EQ(*p->duration_s, 5.0);
}

TEST(Presentation, LiveStreamsHaveNoDuration) {
    for (std::string_view range :
         {"", "a=range:npt=0-\r\n", "a=range:npt=now-\r\n", "a=range:clock=19961108T142300Z-\r\n"}) {
        const auto sdp = "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=x\r\nt=0 0\r\n" + std::string(range) +
                         "m=audio 0 RTP/AVP 0\r\n";
        const auto p = parse_presentation(sdp, "rtsp://h/a");
        ASSERT_TRUE(p.ok()) << range;
        EXPECT_FALSE(p->duration_s.has_value()) << range;
        EXPECT_EQ(p->tracks.at(0).control_url, "rtsp://h/a");  // no a=control: the base URL
    }
}

TEST(Presentation, RejectsWhatAPlayerCannotSetUp) {
    const std::string head = "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=x\r\nt=0 0\r\n";
    EXPECT_FALSE(parse_presentation("not sdp", "rtsp://h/a").ok());
    EXPECT_FALSE(parse_presentation(head, "rtsp://h/a").ok());  // no media at all
    EXPECT_FALSE(parse_presentation(head + "m=application 9 TCP/BFCP *\r\n", "rtsp://h/a").ok());
    EXPECT_FALSE(parse_presentation(head + "m=video 0 RTP/AVP 96\r\n", "not a url").ok());
    std::string many = head;
    for (std::size_t i = 0; i <= k_max_tracks; ++i)
        many += "m=audio 0 RTP/AVP 0\r\n";
    EXPECT_FALSE(parse_presentation(many, "rtsp://h/a").ok());
}

}  // namespace
}  // namespace sg::client
