#include "mssr/fragmenter.hpp"

#include <gtest/gtest.h>

namespace sg::mssr {
namespace {

TEST(MssrFragmenter, DefaultMssLeaves524OctetsPerFragment) {
    EXPECT_EQ(fragment_size(k_default_mss), 524u);  // 548 - 12 (RTP) - 12 (MSSR)
    EXPECT_EQ(fragment_size(1200), 1176u);
    EXPECT_EQ(fragment_size(1340), 1316u);  // SRT's payload: 7 TS packets
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
    const std::uint32_t sizes[] = {524, 524, 252};
    const std::uint16_t sequences[] = {0xffff, 0, 1};  // consecutive across the 16-bit wrap
    for (std::size_t i = 0; i < 3; ++i) {
        const FragmentPlan& p = (*plans)[i];
        EXPECT_EQ(p.size, sizes[i]);
        EXPECT_EQ(p.header.fragment_index, i);
        EXPECT_EQ(p.offset, 524 * i);
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
    info.length = 1048;
    auto plans = plan_fragments(info, 0, k_default_mss);
    ASSERT_TRUE(plans.ok());
    EXPECT_EQ(plans->size(), 2u);
    EXPECT_EQ(plans->back().size, 524u);
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
    info.stream = k_max_stream + 1;  // the header's 4 bits
    EXPECT_FALSE(plan_fragments(info, 0, k_default_mss).ok());
}

TEST(MssrFragmenter, AnAduSpansAtMostTheThirteenBitIndex) {
    AduInfo info;
    const std::size_t size = fragment_size(k_default_mss);
    info.length = static_cast<std::uint32_t>(size * (k_max_fragment_index + 1));
    const auto plans = plan_fragments(info, 0, k_default_mss);
    ASSERT_TRUE(plans.ok());
    EXPECT_EQ(plans->back().header.fragment_index, k_max_fragment_index);
    info.length += 1;  // one octet more needs fragment 8,192
    EXPECT_FALSE(plan_fragments(info, 0, k_default_mss).ok());
    info.length -= 1;  // the parity fragment needs a number too
    info.parity = true;
    EXPECT_FALSE(plan_fragments(info, 0, k_default_mss).ok());
}

// The parity fragment comes last: numbered and indexed after the data fragments, as long as the first one.
TEST(MssrFragmenter, PlansTheParityFragmentAfterTheData) {
    AduInfo info;
    info.length = 1300;  // 524 + 524 + 252
    info.parity = true;
    const auto plans = plan_fragments(info, 0xfffe, k_default_mss);
    ASSERT_TRUE(plans.ok());
    ASSERT_EQ(plans->size(), 4u);
    for (const FragmentPlan& p : *plans)
        EXPECT_TRUE(p.header.parity);
    const FragmentPlan& parity = plans->back();
    EXPECT_TRUE(parity.is_parity);
    EXPECT_EQ(parity.header.fragment_index, 3u);
    EXPECT_EQ(parity.header.sequence, 1u);  // 0xfffe + 3, wrapped
    EXPECT_EQ(parity.size, 524u);
    EXPECT_TRUE(is_parity_fragment(parity.header, 524, 524, 0));
    EXPECT_FALSE(is_parity_fragment(parity.header, 252, 524, 0));
    EXPECT_FALSE(is_parity_fragment((*plans)[2].header, 252, 524, 0));
    // A one-fragment ADU's parity is as long as the ADU: a copy.
    info.length = 100;
    const auto single = plan_fragments(info, 0, k_default_mss);
    ASSERT_TRUE(single.ok());
    ASSERT_EQ(single->size(), 2u);
    EXPECT_EQ(single->back().size, 100u);
    EXPECT_FALSE(single->front().is_parity);
}

TEST(MssrFragmenter, ParityOfAnAduIsTheXorOfItsPaddedFragments) {
    const std::vector<std::uint8_t> adu{1, 2, 3, 4, 5, 6, 7};  // fragments of 3: 1 2 3 | 4 5 6 | 7
    EXPECT_EQ(parity_of(adu, 3), (std::vector<std::uint8_t>{1 ^ 4 ^ 7, 2 ^ 5, 3 ^ 6}));
    EXPECT_EQ(parity_of(std::vector<std::uint8_t>{9, 8}, 3), (std::vector<std::uint8_t>{9, 8}));  // a copy
    // Two groups: fragments 0 and 2 in group 0, fragment 1 in group 1.
    EXPECT_EQ(parity_of(adu, 3, 2, 0), (std::vector<std::uint8_t>{1 ^ 7, 2, 3}));
    EXPECT_EQ(parity_of(adu, 3, 2, 1), (std::vector<std::uint8_t>{4, 5, 6}));
}

// Only a key ADU longer than the session's group gets several parity fragments, one per group of data
// fragments, and the groups interleave: members lie `groups` apart.
TEST(MssrFragmenter, KeyAdusGetAParityFragmentPerGroup) {
    EXPECT_EQ(parity_groups(30, Priority::key, 0), 1u);
    EXPECT_EQ(parity_groups(30, Priority::key, 8), 4u);
    EXPECT_EQ(parity_groups(32, Priority::key, 8), 4u);
    EXPECT_EQ(parity_groups(33, Priority::key, 8), 5u);
    EXPECT_EQ(parity_groups(8, Priority::key, 8), 1u);
    EXPECT_EQ(parity_groups(30, Priority::reference, 8), 1u);
    EXPECT_EQ(parity_groups(30, Priority::disposable, 8), 1u);
    EXPECT_EQ(parity_group_of(0, 30, 4), 0u);
    EXPECT_EQ(parity_group_of(5, 30, 4), 1u);
    EXPECT_EQ(parity_group_of(29, 30, 4), 1u);
    EXPECT_EQ(parity_group_of(30, 30, 4), 0u);  // the parity fragments follow the data, group by group
    EXPECT_EQ(parity_group_of(33, 30, 4), 3u);

    AduInfo info;
    info.length = 10 * 524 - 100;  // 10 fragments, the last one short
    info.parity = true;
    info.priority = Priority::key;
    const auto plans = plan_fragments(info, 0xfffe, k_default_mss, 4);
    ASSERT_TRUE(plans.ok());
    ASSERT_EQ(plans->size(), 13u);  // 10 data + 3 parity
    for (std::size_t i = 10; i < 13; ++i) {
        const FragmentPlan& parity = (*plans)[i];
        EXPECT_TRUE(parity.is_parity);
        EXPECT_EQ(parity.header.fragment_index, i);
        EXPECT_EQ(parity.header.sequence, static_cast<std::uint16_t>(0xfffe + i));
        EXPECT_EQ(parity.size, 524u);
        EXPECT_TRUE(is_parity_fragment(parity.header, 524, 524, 4));
        // A receiver that expects one parity fragment per ADU takes only the first for one.
        EXPECT_EQ(is_parity_fragment(parity.header, 524, 524, 0), i == 10);
    }
    FragmentHeader beyond = (*plans)[12].header;
    beyond.fragment_index = 13;
    EXPECT_FALSE(is_parity_fragment(beyond, 524, 524, 4));
    // A delta frame of the same length: one parity fragment.
    info.priority = Priority::reference;
    const auto delta = plan_fragments(info, 0, k_default_mss, 4);
    ASSERT_TRUE(delta.ok());
    EXPECT_EQ(delta->size(), 11u);
    // The parity fragments need numbers in the 13-bit index too.
    info.priority = Priority::key;
    info.length = static_cast<std::uint32_t>(524 * (k_max_fragment_index + 1 - 2));
    EXPECT_FALSE(plan_fragments(info, 0, k_default_mss, 4000).ok());  // 8,190 data + 3 parity
    EXPECT_TRUE(plan_fragments(info, 0, k_default_mss, 5000).ok());   // 8,190 data + 2 parity
}

// With header version 3 the ADU's parity count is the sender's choice and goes in every fragment's header;
// the fragments are one octet shorter for it.
TEST(MssrFragmenter, VersionThreeCarriesTheChosenParityCountInEveryFragment) {
    EXPECT_EQ(fragment_size(k_default_mss, k_version_parity_count), 523u);
    EXPECT_EQ(packet_overhead(k_version_parity_count), 25u);
    AduInfo info;
    info.version = k_version_parity_count;
    info.length = 10 * 523 - 100;  // 10 fragments
    info.parity = true;
    info.priority = Priority::reference;
    info.parity_count = 3;
    const auto plans = plan_fragments(info, 0, k_default_mss, 8);
    ASSERT_TRUE(plans.ok()) << plans.error();
    ASSERT_EQ(plans->size(), 13u);  // a delta frame with 3 parity fragments: the groups rule would give 1
    for (const FragmentPlan& p : *plans) {
        EXPECT_EQ(p.header.version, k_version_parity_count);
        EXPECT_EQ(p.header.parity_count, 3u);
        EXPECT_EQ(parity_count_of(p.header, 10, 8), 3u);
    }
    EXPECT_EQ((*plans)[0].size, 523u);
    EXPECT_TRUE(is_parity_fragment((*plans)[12].header, 523, 523, 8));
    FragmentHeader beyond = (*plans)[12].header;
    beyond.fragment_index = 13;
    EXPECT_FALSE(is_parity_fragment(beyond, 523, 523, 8));
    // Without a chosen count, the groups rule's, written down.
    info.parity_count = 0;
    info.priority = Priority::key;
    const auto groups = plan_fragments(info, 0, k_default_mss, 4);
    ASSERT_TRUE(groups.ok());
    EXPECT_EQ(groups->front().header.parity_count, 3u);
    // Unprotected: 0.
    info.parity = false;
    const auto plain = plan_fragments(info, 0, k_default_mss, 4);
    ASSERT_TRUE(plain.ok());
    EXPECT_EQ(plain->front().header.parity_count, 0u);
    EXPECT_EQ(parity_count_of(plain->front().header, 10, 4), 0u);
    // Refused: more parity than data, a count version 2 cannot carry, one the octet cannot.
    info.parity = true;
    info.parity_count = 11;
    EXPECT_FALSE(plan_fragments(info, 0, k_default_mss).ok());
    info.parity_count = 2;
    info.version = k_version;
    EXPECT_FALSE(plan_fragments(info, 0, k_default_mss).ok());
    info.version = k_version_parity_count;
    info.length = 523 * 300;
    info.parity_count = 256;
    EXPECT_FALSE(plan_fragments(info, 0, k_default_mss).ok());
    info.parity_count = 255;
    EXPECT_TRUE(plan_fragments(info, 0, k_default_mss).ok());
}

TEST(MssrFragmenter, XorIntoPadsAShorterFragmentWithZeros) {
    std::vector<std::uint8_t> parity{0x0f, 0xf0, 0x55};
    const std::vector<std::uint8_t> fragment{0xff, 0xff};
    xor_into(parity, fragment);
    EXPECT_EQ(parity, (std::vector<std::uint8_t>{0xf0, 0x0f, 0x55}));
}

TEST(MssrFragmenter, OffsetsFollowFromTheIndexOnlyForFragmentsOfTheRightGeometry) {
    FragmentHeader h;
    h.adu_length = 1300;  // fragments of 524: 524, 524, 252
    const auto at = [&](std::uint16_t index, std::size_t size) {
        h.fragment_index = index;
        return fragment_offset(h, size, 524);
    };
    EXPECT_EQ(at(0, 524), 0u);
    EXPECT_EQ(at(1, 524), 524u);
    EXPECT_EQ(at(2, 252), 1048u);
    EXPECT_FALSE(at(2, 524).has_value());  // past the ADU's end
    EXPECT_FALSE(at(2, 251).has_value());  // the last must end the ADU
    EXPECT_FALSE(at(1, 252).has_value());  // every fragment but the last is full
    EXPECT_FALSE(at(3, 1).has_value());    // index beyond the ADU
    EXPECT_FALSE(at(0, 0).has_value());
    EXPECT_FALSE(at(0, 525).has_value());  // longer than a fragment
    h.fragment_index = 0;
    EXPECT_FALSE(fragment_offset(h, 10, 0).has_value());
    h.adu_length = 524;  // exactly one full fragment
    EXPECT_EQ(fragment_offset(h, 524, 524), 0u);
}

}  // namespace
}  // namespace sg::mssr
