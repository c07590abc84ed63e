#include "relay/latch.hpp"

#include <gtest/gtest.h>

#include "relay/address.hpp"

namespace sg::relay {
namespace {

Address ip(std::string_view text, std::uint16_t port) {
    return *parse_ip(text, port);
}

StreamId rtp(std::uint32_t ssrc, std::uint16_t sequence) {
    return StreamId{ssrc, sequence};
}

TEST(Latch, FirstPacketLatchesAndOthersAreForeign) {
    Latch latch;
    latch.announce(ip("10.0.0.5", 4000), LatchPolicy{});
    EXPECT_EQ(latch.destination(), ip("10.0.0.5", 4000));
    EXPECT_EQ(latch.on_packet(ip("198.51.100.7", 61000), rtp(1, 1)), LatchVerdict::latched);
    EXPECT_EQ(latch.destination(), ip("198.51.100.7", 61000));
    EXPECT_EQ(latch.on_packet(ip("198.51.100.7", 61000), rtp(1, 2)), LatchVerdict::pass);
    EXPECT_EQ(latch.on_packet(ip("198.51.100.8", 61000), rtp(2, 1)), LatchVerdict::foreign);
}

TEST(Latch, AsymmetricNeverLatches) {
    Latch latch;
    LatchPolicy policy;
    policy.asymmetric = true;
    latch.announce(ip("10.0.0.5", 4000), policy);
    EXPECT_EQ(latch.on_packet(ip("198.51.100.7", 61000), rtp(1, 1)), LatchVerdict::pass);
    EXPECT_EQ(latch.on_packet(ip("198.51.100.9", 1), rtp(5, 1)), LatchVerdict::pass);
    EXPECT_EQ(latch.destination(), ip("10.0.0.5", 4000));
}

TEST(Latch, StrictSourceWaitsForTheExpectedHost) {
    Latch latch;
    LatchPolicy policy;
    policy.strict_source = true;
    latch.announce(ip("10.0.0.5", 4000), policy);
    EXPECT_EQ(latch.on_packet(ip("10.0.0.6", 4000), rtp(1, 1)), LatchVerdict::foreign);
    EXPECT_EQ(latch.on_packet(ip("10.0.0.5", 4002), rtp(1, 2)),
              LatchVerdict::latched);  // any port of the host
}

TEST(Latch, RebindingNeedsTheSameSsrcAndNearbySequence) {
    Latch latch;
    latch.announce(ip("10.0.0.5", 4000), LatchPolicy{});
    EXPECT_EQ(latch.on_packet(ip("198.51.100.7", 61000), rtp(7, 65530)), LatchVerdict::latched);
    EXPECT_EQ(latch.on_packet(ip("198.51.100.7", 61002), rtp(7, 65535)), LatchVerdict::latched);  // +5
    EXPECT_EQ(latch.on_packet(ip("198.51.100.7", 61004), rtp(7, 60)), LatchVerdict::latched);  // wraps: +61
    EXPECT_EQ(latch.on_packet(ip("198.51.100.7", 61006), rtp(7, 200)),
              LatchVerdict::foreign);  // +140: too far
}

TEST(Latch, HoldAddressMeansNowhereToSend) {
    Latch latch;
    latch.announce(ip("0.0.0.0", 4000), LatchPolicy{});
    EXPECT_FALSE(latch.destination());
}

TEST(Latch, ANewAnnouncedAddressForgetsTheLatchButTheSameKeepsIt) {
    Latch latch;
    latch.announce(ip("10.0.0.5", 4000), LatchPolicy{});
    latch.on_packet(ip("198.51.100.7", 61000), rtp(1, 1));
    latch.announce(ip("10.0.0.5", 4000), LatchPolicy{});
    EXPECT_EQ(latch.latched(), ip("198.51.100.7", 61000));
    latch.announce(ip("10.0.0.5", 4100), LatchPolicy{});
    EXPECT_FALSE(latch.latched());
}

TEST(Latch, PeeksRtpAndRtcpIdentities) {
    const std::uint8_t rtp_packet[12] = {0x80, 0x08, 0x12, 0x34, 0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef};
    const auto id = peek_stream_id(rtp_packet);
    ASSERT_TRUE(id);
    EXPECT_EQ(id->ssrc, 0xdeadbeefU);
    EXPECT_EQ(id->sequence, 0x1234);
    const std::uint8_t rtcp_packet[8] = {0x80, 200, 0, 6, 0x01, 0x02, 0x03, 0x04};  // SR
    const auto rtcp = peek_stream_id(rtcp_packet);
    ASSERT_TRUE(rtcp);
    EXPECT_EQ(rtcp->ssrc, 0x01020304U);
    EXPECT_FALSE(rtcp->sequence);
    const std::uint8_t junk[12] = {0x40};
    EXPECT_FALSE(peek_stream_id(junk));
    EXPECT_FALSE(peek_stream_id(Bytes(rtp_packet, 7)));
}

}  // namespace
}  // namespace sg::relay
