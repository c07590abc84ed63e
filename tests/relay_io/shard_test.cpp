#include "relay_io/shard.hpp"

#include <gtest/gtest.h>

namespace sg::relay_io {
namespace {

using Range = std::pair<std::uint16_t, std::uint16_t>;

TEST(RelayShards, PortRangeSplitsIntoDisjointWholePairs) {
    const auto ranges = split_port_range(30001, 30020, 3);  // pairs 30002..30019: 9 pairs
    ASSERT_EQ(ranges.size(), 3U);
    EXPECT_EQ(ranges[0], (Range{30002, 30007}));
    EXPECT_EQ(ranges[1], (Range{30008, 30013}));
    EXPECT_EQ(ranges[2], (Range{30014, 30019}));
}

TEST(RelayShards, UnevenSplitGivesTheFirstShardsOneMore) {
    const auto ranges = split_port_range(30000, 30009, 2);  // 5 pairs
    EXPECT_EQ(ranges[0], (Range{30000, 30005}));
    EXPECT_EQ(ranges[1], (Range{30006, 30009}));
}

TEST(RelayShards, EveryCallHasOneShard) {
    EXPECT_EQ(shard_of("anything", 1), 0U);
    const auto a = shard_of("call-a@example.org", 4);
    EXPECT_LT(a, 4U);
    EXPECT_EQ(shard_of("call-a@example.org", 4), a);
}

}  // namespace
}  // namespace sg::relay_io
