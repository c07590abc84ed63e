#include "stun/channel_data.hpp"

#include <gtest/gtest.h>

namespace sg::stun {
namespace {

TEST(ChannelData, RoundTripWithAndWithoutPadding) {
    const std::array<std::uint8_t, 5> payload{1, 2, 3, 4, 5};
    for (const bool pad : {false, true}) {
        std::vector<std::uint8_t> out;
        const auto n = append_channel_data(out, 0x4001, payload, pad);
        ASSERT_TRUE(n);
        EXPECT_EQ(*n, pad ? 12U : 9U);
        EXPECT_TRUE(looks_like_channel_data(out));
        const auto cd = parse_channel_data(out);
        ASSERT_TRUE(cd) << cd.error();
        EXPECT_EQ(cd->channel, 0x4001);
        EXPECT_TRUE(std::equal(cd->data.begin(), cd->data.end(), payload.begin(), payload.end()));
    }
}

TEST(ChannelData, Limits) {
    std::vector<std::uint8_t> out;
    EXPECT_FALSE(append_channel_data(out, 0x3FFF, {}, false));
    EXPECT_FALSE(append_channel_data(out, 0x8000, {}, false));
    EXPECT_TRUE(out.empty());
    const std::vector<std::uint8_t> too_big(0x10000);
    EXPECT_FALSE(append_channel_data(out, 0x4000, too_big, false));
    EXPECT_TRUE(append_channel_data(out, 0x7FFF, {}, false));

    const std::array<std::uint8_t, 3> short_header{0x40, 0x00, 0x00};
    EXPECT_FALSE(parse_channel_data(short_header));
    const std::array<std::uint8_t, 6> short_data{0x40, 0x00, 0x00, 0x04, 1, 2};
    EXPECT_FALSE(parse_channel_data(short_data));
    const std::array<std::uint8_t, 4> bad_channel{0x80, 0x00, 0x00, 0x00};
    EXPECT_FALSE(parse_channel_data(bad_channel));
    const std::array<std::uint8_t, 9> too_long{0x40, 0x00, 0x00, 0x01, 1, 0, 0, 0, 0};
    EXPECT_FALSE(parse_channel_data(too_long));
    const std::array<std::uint8_t, 8> padded{0x40, 0x00, 0x00, 0x01, 1, 0, 0, 0};
    EXPECT_TRUE(parse_channel_data(padded));
}

}  // namespace
}  // namespace sg::stun
