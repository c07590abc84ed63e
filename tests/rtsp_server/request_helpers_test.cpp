// What serve and the proxy listener answer alike (rtsp_server/request_helpers.hpp).
#include "rtsp_server/request_helpers.hpp"

#include <gtest/gtest.h>

#include <set>

namespace sg::server {
namespace {

const rtsp::TransportSpec* choose(const std::string& header, std::vector<rtsp::TransportSpec>& specs) {
    auto parsed = rtsp::parse_transport(header);
    EXPECT_TRUE(parsed) << header;
    specs = parsed ? std::move(*parsed) : std::vector<rtsp::TransportSpec>{};
    return choose_unicast_transport(specs);
}

TEST(RequestHelpers, TheFirstUnicastRtpAvpTransportIsChosen) {
    std::vector<rtsp::TransportSpec> specs;
    // Multicast, a profile we do not speak and UDP without client ports are passed over.
    const auto* chosen = choose(
        "RTP/AVP;multicast;ttl=1,RTP/SAVP;unicast;client_port=4000-4001,RTP/AVP;unicast,"
        "RTP/AVP/UDP;unicast;client_port=5000-5001,RTP/AVP/TCP;unicast;interleaved=0-1",
        specs);
    ASSERT_NE(chosen, nullptr);
    EXPECT_EQ(chosen, &specs[3]);
    const auto* interleaved = choose("RTP/AVP/TCP;unicast;interleaved=2-3", specs);
    EXPECT_EQ(interleaved, &specs[0]);
    EXPECT_EQ(choose("RTP/AVPF/TCP;unicast;interleaved=2-3,RTP/AVP;multicast", specs), nullptr);
}

TEST(RequestHelpers, ContentBaseEndsInOneSlashAndDropsTheQuery) {
    EXPECT_EQ(content_base("rtsp://gw:8554/cam"), "rtsp://gw:8554/cam/");
    EXPECT_EQ(content_base("rtsp://gw:8554/cam/"), "rtsp://gw:8554/cam/");
    EXPECT_EQ(content_base("rtsp://gw/clip.mp4?start=3"), "rtsp://gw/clip.mp4/");
}

TEST(RequestHelpers, SessionMethodsAndSessionlessKeepAlives) {
    for (const char* method : {"PLAY", "PAUSE", "TEARDOWN", "GET_PARAMETER", "SET_PARAMETER"})
        EXPECT_TRUE(is_session_method(method)) << method;
    for (const char* method : {"OPTIONS", "DESCRIBE", "SETUP", "ANNOUNCE", "RECORD", "play"})
        EXPECT_FALSE(is_session_method(method)) << method;

    rtsp::Request ping;
    ping.method = "GET_PARAMETER";
    EXPECT_TRUE(is_sessionless_keepalive(ping));
    ping.method = "SET_PARAMETER";
    EXPECT_TRUE(is_sessionless_keepalive(ping));
    rtsp::Request named = ping;
    named.headers.add("Session", "12345678");
    EXPECT_FALSE(is_sessionless_keepalive(named));  // a session named must exist
    rtsp::Request with_body = ping;
    with_body.body = "volume\r\n";
    EXPECT_FALSE(is_sessionless_keepalive(with_body));  // a real parameter request
    rtsp::Request play = ping;
    play.method = "PLAY";
    EXPECT_FALSE(is_sessionless_keepalive(play));
}

TEST(RequestHelpers, SessionIdsAreSixteenHexDigitsAndDistinct) {
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        const auto id = new_session_id();
        ASSERT_EQ(id.size(), 16u);
        ASSERT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
        seen.insert(id);
    }
    EXPECT_EQ(seen.size(), 1000u);
}

}  // namespace
}  // namespace sg::server
