#include "relay/relay_sdp.hpp"

#include <gtest/gtest.h>

#include "relay/address.hpp"

namespace sg::relay {
namespace {

constexpr std::string_view k_offer =
    "v=0\r\n"
    "o=alice 2890844526 2890844526 IN IP4 10.0.0.5\r\n"
    "s=-\r\n"
    "c=IN IP4 10.0.0.5\r\n"
    "t=0 0\r\n"
    "a=ice-ufrag:F7gI\r\n"
    "m=audio 49170 RTP/AVP 0 8\r\n"
    "a=rtcp:49200 IN IP4 10.0.0.6\r\n"
    "a=candidate:1 1 UDP 2130706431 10.0.0.5 49170 typ host\r\n"
    "a=sendonly\r\n"
    "m=video 0 RTP/AVP 96\r\n"
    "m=audio 50000 RTP/AVP 0\r\n"
    "c=IN IP6 fd00::5\r\n"
    "a=rtcp-mux\r\n";

sdp::SessionDescription parsed() {
    auto sd = sdp::parse(k_offer);
    EXPECT_TRUE(sd) << sd.error();
    return *sd;
}

TEST(RelaySdp, DescribesEachSectionsAddressesAndDirection) {
    const auto media = describe_media(parsed());
    ASSERT_TRUE(media);
    ASSERT_EQ(media->size(), 3U);
    const auto& first = (*media)[0];
    EXPECT_EQ(first.index, 1U);
    EXPECT_EQ(first.rtp, parse_ip("10.0.0.5", 49170));
    EXPECT_EQ(first.rtcp, parse_ip("10.0.0.6", 49200));  // a=rtcp with its own address (RFC 3605)
    EXPECT_EQ(first.direction, MediaDirection::sendonly);
    EXPECT_TRUE((*media)[1].rejected);
    const auto& third = (*media)[2];
    EXPECT_EQ(third.rtp, parse_ip("fd00::5", 50000));  // media-level c= wins over the session's
    EXPECT_TRUE(third.rtcp_mux);
    EXPECT_FALSE(third.rtcp);
}

TEST(RelaySdp, DefaultRtcpIsTheNextPort) {
    auto sd = sdp::parse(
        "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n");
    ASSERT_TRUE(sd);
    const auto media = describe_media(*sd);
    ASSERT_TRUE(media);
    EXPECT_EQ((*media)[0].rtcp, parse_ip("1.2.3.4", 4001));
}

TEST(RelaySdp, NoConnectionLineIsAnError) {
    auto sd = sdp::parse("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n");
    ASSERT_TRUE(sd);
    EXPECT_FALSE(describe_media(*sd));
}

TEST(RelaySdp, RewritePutsTheRelayEverywhereAndDropsIce) {
    auto sd = parsed();
    const std::vector<std::optional<RelayPorts>> ports = {
        RelayPorts{*parse_ip("203.0.113.1", 30000), false},
        std::nullopt,
        RelayPorts{*parse_ip("2001:db8::1", 30002), true},
    };
    ASSERT_TRUE(rewrite_for_relay(sd, ports, RewriteOptions{}));
    const std::string text = sdp::to_string(sd);
    EXPECT_NE(text.find("o=alice 2890844526 2890844526 IN IP4 10.0.0.5\r\n"), std::string::npos) << text;
    EXPECT_NE(text.find("c=IN IP4 203.0.113.1\r\n"), std::string::npos);
    EXPECT_NE(text.find("m=audio 30000 RTP/AVP 0 8\r\n"), std::string::npos);
    EXPECT_NE(text.find("a=rtcp:30001 IN IP4 203.0.113.1\r\n"), std::string::npos);
    EXPECT_NE(text.find("m=video 0 RTP/AVP 96\r\n"), std::string::npos);
    EXPECT_NE(text.find("m=audio 30002 RTP/AVP 0\r\nc=IN IP6 2001:db8::1\r\n"), std::string::npos) << text;
    EXPECT_NE(text.find("a=rtcp-mux"), std::string::npos);
    EXPECT_EQ(text.find("10.0.0.6"), std::string::npos);
    EXPECT_EQ(text.find("fd00::5"), std::string::npos);
    EXPECT_EQ(text.find("candidate"), std::string::npos);
    EXPECT_EQ(text.find("ice-ufrag"), std::string::npos);
    EXPECT_NE(text.find("a=sendonly"), std::string::npos);  // direction is the UAs' business
}

TEST(RelaySdp, ReplaceOriginAndDemux) {
    auto sd = parsed();
    const std::vector<std::optional<RelayPorts>> ports = {
        RelayPorts{*parse_ip("203.0.113.1", 30000), false},
        std::nullopt,
        RelayPorts{*parse_ip("203.0.113.1", 30002), false},
    };
    RewriteOptions options;
    options.replace_origin = true;
    ASSERT_TRUE(rewrite_for_relay(sd, ports, options));
    const std::string text = sdp::to_string(sd);
    EXPECT_NE(text.find("o=alice 2890844526 2890844526 IN IP4 203.0.113.1\r\n"), std::string::npos);
    EXPECT_EQ(text.find("a=rtcp-mux"), std::string::npos);  // the other side gets separate RTCP
}

TEST(RelaySdp, MismatchedPortsChangeNothing) {
    auto sd = parsed();
    const auto before = sd;
    EXPECT_FALSE(
        rewrite_for_relay(sd, {RelayPorts{*parse_ip("203.0.113.1", 30000), false}}, RewriteOptions{}));
    EXPECT_FALSE(rewrite_for_relay(sd, {std::nullopt, std::nullopt, std::nullopt}, RewriteOptions{}));
    EXPECT_EQ(sd, before);
}

}  // namespace
}  // namespace sg::relay
