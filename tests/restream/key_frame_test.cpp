#include "restream/key_frame.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace sg::proxy {
namespace {

bool key(std::vector<std::uint8_t> payload) {
    return h264_starts_key_frame(payload);
}

TEST(KeyFrame, SingleNalUnits) {
    EXPECT_TRUE(key({0x65, 0x88}));   // IDR slice
    EXPECT_TRUE(key({0x67, 0x42}));   // SPS
    EXPECT_FALSE(key({0x41, 0x9a}));  // non-IDR slice
    EXPECT_FALSE(key({0x68, 0xce}));  // PPS alone
    EXPECT_FALSE(key({}));
}

TEST(KeyFrame, FragmentsStartOnlyWithTheStartBit) {
    EXPECT_TRUE(key({0x7c, 0x85, 0x00}));   // FU-A, S bit, IDR
    EXPECT_FALSE(key({0x7c, 0x05, 0x00}));  // FU-A continuation of an IDR
    EXPECT_FALSE(key({0x7c, 0x81, 0x00}));  // FU-A start of a non-IDR slice
    EXPECT_FALSE(key({0x7c}));              // truncated
}

TEST(KeyFrame, AggregatesAreWalkedWithTheirLengthsChecked) {
    EXPECT_TRUE(key({0x78, 0x00, 0x02, 0x68, 0xce, 0x00, 0x02, 0x65, 0x88}));  // STAP-A: PPS, IDR
    EXPECT_TRUE(key({0x78, 0x00, 0x02, 0x67, 0x42}));                          // STAP-A: SPS
    EXPECT_FALSE(key({0x78, 0x00, 0x02, 0x68, 0xce, 0x00, 0x02, 0x41, 0x9a}));
    EXPECT_FALSE(key({0x78, 0x00, 0x09, 0x65}));  // length beyond the payload
    EXPECT_FALSE(key({0x78, 0x00, 0x00, 0x65}));  // empty unit
}

TEST(KeyFrame, OnlyH264Waits) {
    EXPECT_TRUE(waits_for_key_frame("H264"));
    EXPECT_TRUE(waits_for_key_frame("h264"));
    EXPECT_FALSE(waits_for_key_frame("PCMA"));
    EXPECT_FALSE(waits_for_key_frame("MPEG4-GENERIC"));
}

}  // namespace
}  // namespace sg::proxy
