#include "relay/prompt.hpp"

#include <gtest/gtest.h>

#include "rtp/rtp_packet.hpp"

namespace sg::relay {
namespace {

Prompt prompt_of(std::size_t samples) {
    Prompt p;
    p.payload_type = 8;
    for (std::size_t i = 0; i < samples; ++i)
        p.samples.push_back(static_cast<std::uint8_t>(i));
    return p;
}

TEST(PromptPlayer, CutsTwentyMillisecondPacketsWithRunningHeaders) {
    PromptPlayer player(prompt_of(400), 1, 0xabcdef01, 65535, 1000);
    std::vector<std::vector<std::uint8_t>> packets;
    while (auto p = player.next())
        packets.push_back(*p);
    ASSERT_EQ(packets.size(), 3U);  // 160 + 160 + 80
    const auto first = rtp::parse_rtp(packets[0]);
    const auto last = rtp::parse_rtp(packets[2]);
    ASSERT_TRUE(first);
    ASSERT_TRUE(last);
    EXPECT_TRUE(first->marker());
    EXPECT_FALSE(last->marker());
    EXPECT_EQ(first->payload_type(), 8);
    EXPECT_EQ(first->ssrc(), 0xabcdef01U);
    EXPECT_EQ(first->sequence(), 65535);
    EXPECT_EQ(last->sequence(), 1);  // wrapped
    EXPECT_EQ(last->timestamp(), 1320U);
    EXPECT_EQ(last->payload().size(), 80U);
    EXPECT_EQ(last->payload()[0], static_cast<std::uint8_t>(320));
}

TEST(PromptPlayer, RepeatsAndPlaysForeverWithZero) {
    PromptPlayer twice(prompt_of(160), 2, 1, 0, 0);
    int count = 0;
    while (twice.next())
        ++count;
    EXPECT_EQ(count, 2);
    PromptPlayer forever(prompt_of(160), 0, 1, 0, 0);
    for (int i = 0; i < 1000; ++i)
        ASSERT_TRUE(forever.next());
}

TEST(PromptPlayer, EmptyPromptPlaysNothing) {
    PromptPlayer player(Prompt{}, 0, 1, 0, 0);
    EXPECT_FALSE(player.next());
}

}  // namespace
}  // namespace sg::relay
