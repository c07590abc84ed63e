#include "mssr/fragmenter.hpp"

#include <gtest/gtest.h>

namespace sg::mssr {
namespace {

TEST(MssrFragmenter, DefaultMssLeaves520OctetsPerFragment) {
    EXPECT_EQ(fragment_size(k_default_mss), 520u);
    EXPECT_EQ(fragment_size(1200), 1172u);
    EXPECT_EQ(fragment_size(k_min_mss - 1), 0u);
}

TEST(MssrFragmenter, CutsEqualFragmentsAndAShortLastOne) {
    AduInfo info;
    info.stream = 2;
    info.stream_sequence = 9;
    info.priority = Priority::reference;
    info.time_ms = 77;
    info.length = 1300;
    const auto plans = plan_fragments(info, 0xffff, k_default_mss);
    ASSERT_TRUE(plans.ok());
    ASSERT_EQ(plans->size(), 3u);
    const std::uint32_t sizes[] = {520, 520, 260};
    const std::uint16_t sequences[] = {0xffff, 0, 1};  // consecutive across the 16-bit wrap
    for (std::size_t i = 0; i < 3; ++i) {
        const FragmentPlan& p = (*plans)[i];
        EXPECT_EQ(p.size, sizes[i]);
        EXPECT_EQ(p.header.adu_offset, 520 * i);
        EXPECT_EQ(p.header.sequence, sequences[i]);
        EXPECT_EQ(p.header.stream_sequence, 9);
        EXPECT_EQ(p.header.adu_length, 1300u);
        EXPECT_EQ(p.header.stream, 2);
        EXPECT_EQ(p.header.priority, Priority::reference);
        EXPECT_EQ(p.header.adu_time_ms, 77u);
    }
}

TEST(MssrFragmenter, ExactMultipleAndSingleFragment) {
    AduInfo info;
    info.length = 1040;
    auto plans = plan_fragments(info, 0, k_default_mss);
    ASSERT_TRUE(plans.ok());
    EXPECT_EQ(plans->size(), 2u);
    EXPECT_EQ(plans->back().size, 520u);
    info.length = 1;
    plans = plan_fragments(info, 0, k_default_mss);
    ASSERT_TRUE(plans.ok());
    EXPECT_EQ(plans->size(), 1u);
}

TEST(MssrFragmenter, RefusesEmptyHugeAndTinyMss) {
    AduInfo info;
    EXPECT_FALSE(plan_fragments(info, 0, k_default_mss).ok());
    info.length = k_max_adu_size + 1;
    EXPECT_FALSE(plan_fragments(info, 0, k_default_mss).ok());
    info.length = 10;
    EXPECT_FALSE(plan_fragments(info, 0, 20).ok());
}

}  // namespace
}  // namespace sg::mssr
