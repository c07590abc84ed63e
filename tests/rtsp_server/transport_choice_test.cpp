// Serve's transport choice: the client's order of preference, multicast only where configured, and the
// multicast answer's exact header.
#include "rtsp_server/transport_choice.hpp"

#include <gtest/gtest.h>

#include <asio/ip/address.hpp>

namespace sg::server {
namespace {

std::vector<rtsp::TransportSpec> specs(std::string_view header) {
    auto parsed = rtsp::parse_transport(header);
    EXPECT_TRUE(parsed) << header;
    return parsed ? *parsed : std::vector<rtsp::TransportSpec>{};
}

TEST(ServeTransport, MulticastOnlyWhenEnabled) {
    const auto offered = specs("RTP/AVP;multicast");
    EXPECT_EQ(choose_transport(offered, false), nullptr);  // 461: closed by default
    EXPECT_EQ(choose_transport(offered, true), &offered[0]);
    const auto ffmpeg = specs("RTP/AVP/UDP;multicast");  // what ffmpeg -rtsp_transport udp_multicast sends
    EXPECT_EQ(choose_transport(ffmpeg, true), &ffmpeg[0]);
}

TEST(ServeTransport, FollowsTheClientsOrder) {
    const auto multicast_first =
        specs("RTP/AVP;multicast;port=5000-5001,RTP/AVP;unicast;client_port=4000-4001");
    EXPECT_EQ(choose_transport(multicast_first, true), &multicast_first[0]);
    EXPECT_EQ(choose_transport(multicast_first, false), &multicast_first[1]);
    const auto unicast_first = specs("RTP/AVP/TCP;interleaved=0-1,RTP/AVP;multicast");
    EXPECT_EQ(choose_transport(unicast_first, true), &unicast_first[0]);
}

TEST(ServeTransport, RefusesWhatWeDoNotSend) {
    for (const char* header : {"RTP/SAVP;multicast", "RTP/AVPF;multicast", "RTP/AVP/TCP;multicast",
                               "RAW/RAW/UDP;multicast", "RTP/AVP;unicast"}) {
        const auto offered = specs(header);
        EXPECT_EQ(choose_transport(offered, true), nullptr) << header;
    }
}

TEST(ServeTransport, MulticastAnswer) {
    EXPECT_EQ(rtsp::to_header_value(
                  multicast_answer(asio::ip::make_address("239.255.42.1"), 30000, 16, 0x1b2c3d4e)),
              "RTP/AVP;multicast;destination=239.255.42.1;ttl=16;port=30000-30001;ssrc=1B2C3D4E");
    EXPECT_EQ(rtsp::to_header_value(multicast_answer(asio::ip::make_address("ff15::1"), 30002, 1, 7)),
              "RTP/AVP;multicast;destination=ff15::1;ttl=1;port=30002-30003;ssrc=00000007");
}

}  // namespace
}  // namespace sg::server
