#include "alg/transport_rewrite.hpp"

#include <gtest/gtest.h>

namespace sg::alg {
namespace {

TEST(TransportRewrite, FindsTheClientPortsOfUnicastUdp) {
    const auto ports = relayable_client_ports("RTP/AVP/UDP;unicast;client_port=5000-5001");
    ASSERT_TRUE(ports.ok());
    EXPECT_EQ(ports->first, 5000);
    EXPECT_EQ(ports->last, 5001);
    // Unicast is the default; the first relayable spec of a list wins.
    const auto second = relayable_client_ports(
        "RTP/AVP;multicast;port=9000-9001,RTP/AVP;client_port=6000-6001,RTP/AVP;client_port=7000-7001");
    ASSERT_TRUE(second.ok());
    EXPECT_EQ(second->first, 6000);
}

TEST(TransportRewrite, LeavesInterleavedMulticastAndUnknownAlone) {
    EXPECT_FALSE(relayable_client_ports("RTP/AVP/TCP;unicast;interleaved=0-1").ok());
    EXPECT_FALSE(relayable_client_ports("RTP/AVP;multicast;client_port=5000-5001").ok());
    EXPECT_FALSE(relayable_client_ports("RTP/AVP;unicast").ok());  // no ports: nothing to relay to
    EXPECT_FALSE(relayable_client_ports("x-real-rdt/udp;client_port=5000").ok());
    EXPECT_FALSE(relayable_client_ports("RTP/AVP;client_port=5000-5001;client_port=6000-6001").ok());
    EXPECT_FALSE(rewrite_setup_request("RTP/AVP/TCP;unicast;interleaved=0-1", 30000, "198.18.3.1").ok());
    EXPECT_FALSE(rewrite_setup_reply("RTP/AVP/TCP;unicast;interleaved=0-1", {5000, 5001}, 30002, "198.18.1.1",
                                     "198.18.1.2")
                     .ok());
}

TEST(TransportRewrite, RequestPointsTheOriginAtTheGatewayPair) {
    const auto out = rewrite_setup_request("RTP/AVP/UDP;unicast;client_port=5000-5001;mode=\"PLAY\"", 30000,
                                           "2001:2:0:4::1");
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(*out, "RTP/AVP/UDP;unicast;client_port=30000-30001;mode=\"PLAY\"");
    // destination is the gateway's origin-facing address; other specs stay as they were.
    const auto dest = rewrite_setup_request(
        "RTP/AVP/TCP;interleaved=0-1,RTP/"
        "AVP;unicast;destination=198.18.1.2;client_port=5000-5001;ssrc=1234ABCD",
        31000, "198.18.3.1");
    ASSERT_TRUE(dest.ok());
    EXPECT_EQ(*dest,
              "RTP/AVP/TCP;interleaved=0-1,RTP/AVP;unicast;destination=198.18.3.1;client_port=31000-31001;"
              "ssrc=1234ABCD");
}

TEST(TransportRewrite, RequestRewritesRfc7826DestAddr) {
    const auto out = rewrite_setup_request(
        "RTP/AVP;unicast;client_port=5000-5001;dest_addr=\"198.18.1.2:5000\"/\"198.18.1.2:5001\"", 30000,
        "2001:2:0:4::1");
    ASSERT_TRUE(out.ok());
    const auto specs = rtsp::parse_transport(*out);
    ASSERT_TRUE(specs.ok());
    ASSERT_EQ((*specs)[0].dest_addr.size(), 2u);
    EXPECT_EQ((*specs)[0].dest_addr[0].host, "2001:2:0:4::1");
    EXPECT_EQ((*specs)[0].dest_addr[0].port, 30000);
    EXPECT_EQ((*specs)[0].dest_addr[1].port, 30001);
}

TEST(TransportRewrite, ReplyPointsTheClientAtTheGatewayPair) {
    const auto out = rewrite_setup_reply(
        "RTP/AVP;unicast;client_port=30000-30001;server_port=6970-6971;ssrc=5A5B5C5D;mode=\"PLAY\"",
        {5000, 5001}, 32000, "198.18.1.1", "198.18.1.2");
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(out->transport,
              "RTP/AVP;unicast;source=198.18.1.1;client_port=5000-5001;server_port=32000-32001;ssrc=5A5B5C5D;"
              "mode=\"PLAY\"");
    ASSERT_TRUE(out->origin.server_ports.has_value());
    EXPECT_EQ(out->origin.server_ports->first, 6970);
    EXPECT_EQ(out->origin.server_ports->last, 6971);
    EXPECT_FALSE(out->origin.source.has_value());
}

TEST(TransportRewrite, ReplySourceAndDestinationAreReplaced) {
    const auto out = rewrite_setup_reply(
        "RTP/AVP;unicast;destination=2001:2:0:4::1;source=2001:2:0:4::2;client_port=30000-30001;"
        "server_port=6970-6971",
        {5000, 5001}, 32000, "198.18.1.1", "198.18.1.2");
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(out->transport,
              "RTP/AVP;unicast;destination=198.18.1.2;source=198.18.1.1;client_port=5000-5001;"
              "server_port=32000-32001");
    ASSERT_TRUE(out->origin.source.has_value());
    EXPECT_EQ(*out->origin.source, "2001:2:0:4::2");
}

TEST(TransportRewrite, ReplyWithoutServerPortStillGetsTheGatewayPair) {
    const auto out = rewrite_setup_reply("RTP/AVP;unicast", {5000, 5001}, 32000, "198.18.1.1", "198.18.1.2");
    ASSERT_TRUE(out.ok());
    EXPECT_FALSE(out->origin.server_ports.has_value());
    EXPECT_EQ(out->transport,
              "RTP/AVP;unicast;source=198.18.1.1;client_port=5000-5001;server_port=32000-32001");
}

TEST(TransportRewrite, UnparsableValuesAreErrors) {
    EXPECT_FALSE(relayable_client_ports("").ok());
    EXPECT_FALSE(rewrite_setup_request("RTP/AVP;client_port=70000", 30000, "198.18.3.1").ok());
    EXPECT_FALSE(rewrite_setup_reply("RTP/AVP;server_port=\"", {5000, 5001}, 1, "a", "b").ok());
}

// Found by rtsp_alg_fuzz: a reply already holding as many parameters as the parser takes, to which the
// rewrite adds client_port, server_port and source. Such a value would be refused by the client's parser, so
// the rewrite must refuse it (and the gateway forwards the reply as it came).
TEST(TransportRewrite, ARewriteThatWouldExceedTheParsersLimitsIsRefused) {
    std::string reply = "RTP/AVP;unicast";
    while (reply.size() < 200 && rtsp::parse_transport(reply + ";x").ok())
        reply += ";x";
    ASSERT_TRUE(rtsp::parse_transport(reply).ok());
    const auto full = rewrite_setup_reply(reply, {5000, 5001}, 30000, "198.51.100.1", "198.51.100.2");
    EXPECT_FALSE(full.ok());
    // Room for the added parameters: rewritten, and the result parses.
    const auto roomy = rewrite_setup_reply("RTP/AVP;unicast;x;x", {5000, 5001}, 30000, "198.51.100.1", "b");
    ASSERT_TRUE(roomy.ok());
    EXPECT_TRUE(rtsp::parse_transport(roomy->transport).ok());
}

}  // namespace
}  // namespace sg::alg
