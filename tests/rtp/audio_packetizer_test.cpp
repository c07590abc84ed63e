// Opus (RFC 7587) and G.711 (RFC 3551) payloads.
#include "rtp/audio_packetizer.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace sg::rtp {
namespace {

TEST(OpusPacketizer, OnePacketPerFrame) {
    const std::vector<std::uint8_t> frame(120, 0x5a);
    PayloadList out;
    ASSERT_TRUE(packetize_opus(frame, out));
    ASSERT_EQ(out.size(), 1U);
    EXPECT_EQ(std::vector<std::uint8_t>(out.payload(0).begin(), out.payload(0).end()), frame);
    EXPECT_FALSE(packetize_opus({}, out));
    EXPECT_FALSE(packetize_opus(std::vector<std::uint8_t>(1401), out));
}

TEST(G711Packetizer, SplitsLongPacketsWithTimestampOffsets) {
    std::vector<std::uint8_t> samples(1000);  // stereo: 500 sample times
    for (std::size_t i = 0; i < samples.size(); ++i)
        samples[i] = static_cast<std::uint8_t>(i);
    PayloadList out;
    ASSERT_TRUE(packetize_g711(samples, 2, out, 160));
    ASSERT_EQ(out.size(), 4U);  // 160 + 160 + 160 + 20 sample times
    std::vector<std::uint8_t> joined;
    for (std::size_t i = 0; i < out.size(); ++i) {
        EXPECT_EQ(out.chunk(i).timestamp_offset, i * 160);
        joined.insert(joined.end(), out.payload(i).begin(), out.payload(i).end());
    }
    EXPECT_EQ(joined, samples);
    EXPECT_EQ(out.payload(3).size(), 40U);
}

TEST(G711Packetizer, RejectsPartialSampleTimes) {
    PayloadList out;
    EXPECT_FALSE(packetize_g711(std::vector<std::uint8_t>(3), 2, out));
    EXPECT_FALSE(packetize_g711(std::vector<std::uint8_t>(4), 0, out));
    EXPECT_FALSE(packetize_g711({}, 1, out));
}

}  // namespace
}  // namespace sg::rtp
