#include "detect/stream_stats.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace sg::detect {
namespace {

constexpr std::int64_t k_ms = 1'000'000;

// Feeds sequence numbers sent every 20 ms with 160-tick timestamps (8 kHz), arriving on time.
StreamStats feed(const std::vector<std::uint16_t>& sequences, std::uint16_t first) {
    StreamStats s;
    std::int64_t t = 0;
    for (const auto seq : sequences) {
        const auto offset = static_cast<std::uint16_t>(seq - first);
        s.on_packet(seq, 1000u + 160u * offset, t, 172, 8000);
        t += 20 * k_ms;
    }
    return s;
}

TEST(StreamStats, InOrderStreamHasNoLoss) {
    const auto s = feed({10, 11, 12, 13, 14}, 10);
    EXPECT_EQ(s.packets(), 5u);
    EXPECT_EQ(s.expected(), 5);
    EXPECT_EQ(s.lost(), 0);
    EXPECT_EQ(s.sequence_errors(), 0u);
    EXPECT_EQ(s.bytes(), 5u * 172);
    EXPECT_DOUBLE_EQ(s.max_delta_ms(), 20.0);
    EXPECT_NEAR(s.max_jitter_ms(), 0.0, 1e-9);
}

TEST(StreamStats, GapsCountAsLost) {
    const auto s = feed({10, 11, 14, 15}, 10);
    EXPECT_EQ(s.expected(), 6);
    EXPECT_EQ(s.lost(), 2);
    EXPECT_EQ(s.sequence_errors(), 1u);
}

TEST(StreamStats, DuplicatesMakeLostNegativeAsInTshark) {
    const auto s = feed({10, 11, 11, 12}, 10);
    EXPECT_EQ(s.packets(), 4u);
    EXPECT_EQ(s.expected(), 3);
    EXPECT_EQ(s.lost(), -1);
    EXPECT_EQ(s.duplicates(), 1u);
    EXPECT_EQ(s.reordered(), 0u);
}

TEST(StreamStats, ReorderingIsNotLoss) {
    const auto s = feed({10, 12, 11, 13}, 10);
    EXPECT_EQ(s.lost(), 0);
    EXPECT_EQ(s.reordered(), 1u);
    EXPECT_EQ(s.duplicates(), 0u);
    EXPECT_EQ(s.sequence_errors(), 3u);  // 10->12, 12->11, 11->13
}

TEST(StreamStats, SequenceWrapExtendsTheRange) {
    const auto s = feed({65534, 65535, 0, 1, 2}, 65534);
    EXPECT_EQ(s.expected(), 5);
    EXPECT_EQ(s.lost(), 0);
    EXPECT_EQ(s.wraps(), 1u);
    EXPECT_EQ(s.sequence_errors(), 0u);
}

TEST(StreamStats, ExpectedStartsAtTheFirstPacketAsInTshark) {
    // A packet older than the first one is counted and flagged as reordered, but (as tshark does) the range
    // of expected numbers still starts at the first packet, so lost goes negative.
    const auto s = feed({11, 10, 12}, 10);
    EXPECT_EQ(s.expected(), 2);
    EXPECT_EQ(s.lost(), -1);
    EXPECT_EQ(s.reordered(), 1u);
}

TEST(StreamStats, JitterFollowsRfc3550) {
    StreamStats s;
    // Packet 2 arrives 8 ms late: D = 8 ms, J = 8/16 = 0.5 ms; packet 3 on time: D = 8, J += (8-0.5)/16.
    s.on_packet(1, 0, 0, 100, 8000);
    s.on_packet(2, 160, 28 * k_ms, 100, 8000);
    EXPECT_NEAR(s.jitter_ms(), 0.5, 1e-9);
    s.on_packet(3, 320, 40 * k_ms, 100, 8000);
    EXPECT_NEAR(s.jitter_ms(), 0.5 + 7.5 / 16, 1e-9);
    EXPECT_NEAR(s.max_jitter_ms(), 0.5 + 7.5 / 16, 1e-9);
    EXPECT_DOUBLE_EQ(s.max_delta_ms(), 28.0);
}

TEST(StreamStats, TimestampWrapIsNotJitter) {
    StreamStats s;
    s.on_packet(1, 0xffffff00u, 0, 100, 8000);
    s.on_packet(2, 0xffffff00u + 160u, 20 * k_ms, 100, 8000);  // wraps to 0x000000a0
    EXPECT_NEAR(s.jitter_ms(), 0.0, 1e-6);
}

TEST(StreamStats, UnknownClockRateLeavesJitterAtZero) {
    StreamStats s;
    s.on_packet(1, 0, 0, 100, 0);
    s.on_packet(2, 999999, 3 * k_ms, 100, 0);
    EXPECT_EQ(s.jitter_ms(), 0.0);
    EXPECT_EQ(s.packets(), 2u);
}

TEST(StreamStats, Bitrate) {
    const auto s = feed({1, 2, 3}, 1);  // 3 * 172 octets over 40 ms
    EXPECT_NEAR(s.bitrate_bps(), 3 * 172 * 8 / 0.040, 1e-6);
}

}  // namespace
}  // namespace sg::detect
