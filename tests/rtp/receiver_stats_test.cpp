#include "rtp/receiver_stats.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <vector>

namespace sg::rtp {
namespace {

using namespace std::chrono_literals;

// Feeds sequence numbers with a constant transit time (no jitter) and returns update_seq's verdicts.
std::vector<bool> feed(ReceiverStats& stats, std::initializer_list<std::uint16_t> sequences) {
    std::vector<bool> verdicts;
    for (const std::uint16_t seq : sequences) {
        const std::uint32_t ts = std::uint32_t{seq} * 160;
        verdicts.push_back(stats.on_packet(seq, ts, ts + 1000));
    }
    return verdicts;
}

void feed_range(ReceiverStats& stats, std::uint16_t first, std::uint16_t last_inclusive) {
    for (std::uint16_t seq = first;; ++seq) {
        stats.on_packet(seq, std::uint32_t{seq} * 160, std::uint32_t{seq} * 160 + 1000);
        if (seq == last_inclusive) break;
    }
}

const ReceiverStats::Clock::time_point k_t0{};

TEST(ReceiverStats, ProbationNeedsTwoSequentialPackets) {
    ReceiverStats stats(0x1234);
    // 100 starts probation (max_seq = 99, probation 2 -> 1); 101 ends it: init_seq(101), received = 1.
    EXPECT_EQ(feed(stats, {100}), (std::vector<bool>{false}));
    EXPECT_FALSE(stats.valid());
    EXPECT_EQ(stats.expected(), 0);
    EXPECT_EQ(feed(stats, {101}), (std::vector<bool>{true}));
    EXPECT_TRUE(stats.valid());
    EXPECT_EQ(stats.base_sequence(), 101u);
    EXPECT_EQ(stats.received(), 1u);
    EXPECT_EQ(stats.expected(), 1);
    EXPECT_EQ(stats.cumulative_lost(), 0);
}

TEST(ReceiverStats, ProbationRestartsOnAGap) {
    ReceiverStats stats;
    // 100: probation 1, max 100. 200 is not 101: probation = MIN_SEQUENTIAL - 1 = 1, max 200. 201 validates.
    EXPECT_EQ(feed(stats, {100, 200, 201, 202}), (std::vector<bool>{false, false, true, true}));
    EXPECT_EQ(stats.base_sequence(), 201u);
    EXPECT_EQ(stats.received(), 2u);
    EXPECT_EQ(stats.expected(), 2);
}

TEST(ReceiverStats, BlockForASourceOnProbationCarriesNoCounts) {
    ReceiverStats stats(7);
    (void)feed(stats, {100});
    const ReportBlock block = stats.make_report_block(k_t0);
    EXPECT_EQ(block, (ReportBlock{7, 0, 0, 0, 0, 0, 0}));
}

TEST(ReceiverStats, InOrderStream) {
    ReceiverStats stats(42);
    feed_range(stats, 100, 109);
    // 100 is the probation packet; 101..109 count: received 9, expected 109 - 101 + 1 = 9.
    EXPECT_EQ(stats.received(), 9u);
    EXPECT_EQ(stats.expected(), 9);
    EXPECT_EQ(stats.extended_max_sequence(), 109u);
    const ReportBlock block = stats.make_report_block(k_t0);
    EXPECT_EQ(block.ssrc, 42u);
    EXPECT_EQ(block.fraction_lost, 0);
    EXPECT_EQ(block.cumulative_lost, 0);
    EXPECT_EQ(block.highest_sequence, 109u);
    EXPECT_EQ(block.jitter, 0u);
    EXPECT_EQ(stats.duplicates(), 0u);
}

TEST(ReceiverStats, LossOfThreePackets) {
    ReceiverStats stats;
    feed_range(stats, 100, 104);
    feed_range(stats, 108, 110);  // 105, 106, 107 lost
    // received = 4 (101..104) + 3 = 7; expected = 110 - 101 + 1 = 10; lost 3.
    EXPECT_EQ(stats.received(), 7u);
    EXPECT_EQ(stats.expected(), 10);
    EXPECT_EQ(stats.cumulative_lost(), 3);
    const ReportBlock block = stats.make_report_block(k_t0);
    EXPECT_EQ(block.cumulative_lost, 3);
    EXPECT_EQ(block.fraction_lost, 76);  // (3 << 8) / 10 = 768 / 10 = 76
}

TEST(ReceiverStats, ReorderedPacketsAreCountedNotLost) {
    ReceiverStats stats;
    EXPECT_EQ(feed(stats, {100, 101, 102, 104, 103, 105}),
              (std::vector<bool>{false, true, true, true, true, true}));
    // 103 arrives with udelta = 103 - 104 = 65535 (> RTP_SEQ_MOD - MAX_MISORDER): counted, max stays 104.
    EXPECT_EQ(stats.received(), 5u);
    EXPECT_EQ(stats.expected(), 5);
    EXPECT_EQ(stats.cumulative_lost(), 0);
    EXPECT_EQ(stats.extended_max_sequence(), 105u);
    EXPECT_EQ(stats.duplicates(), 0u);
}

TEST(ReceiverStats, DuplicatesMakeLossNegativeAsTheRfcSays) {
    ReceiverStats stats;
    (void)feed(stats, {100, 101, 102, 102, 103, 101});
    // received = 101, 102, 102, 103, 101 = 5; expected = 103 - 101 + 1 = 3; lost = -2.
    EXPECT_EQ(stats.received(), 5u);
    EXPECT_EQ(stats.expected(), 3);
    EXPECT_EQ(stats.cumulative_lost(), -2);
    EXPECT_EQ(stats.duplicates(), 2u);
    const ReportBlock block = stats.make_report_block(k_t0);
    EXPECT_EQ(block.cumulative_lost, -2);
    EXPECT_EQ(block.fraction_lost, 0);  // lost_interval <= 0
}

TEST(ReceiverStats, DuplicateHistoryFollowsTheWindow) {
    ReceiverStats stats;
    feed_range(stats, 1, 300);
    EXPECT_EQ(stats.duplicates(), 0u);
    // 250 is 50 behind: accepted as misordered, and it was received before.
    (void)feed(stats, {250});
    EXPECT_EQ(stats.duplicates(), 1u);
    // After a gap (301..309 lost) a late 305 is new, a second 305 is a duplicate.
    (void)feed(stats, {310, 305, 305});
    EXPECT_EQ(stats.duplicates(), 2u);
    EXPECT_EQ(stats.received(), 299u + 1 + 3);
}

TEST(ReceiverStats, SequenceWrapCountsACycle) {
    ReceiverStats stats;
    (void)feed(stats, {65533, 65534, 65535, 0, 1, 2});
    // base 65534; 0 < max_seq 65535 so cycles += 65536; extended max = 65536 + 2.
    EXPECT_EQ(stats.base_sequence(), 65534u);
    EXPECT_EQ(stats.cycles(), 1u);
    EXPECT_EQ(stats.extended_max_sequence(), 65538u);
    EXPECT_EQ(stats.received(), 5u);
    EXPECT_EQ(stats.expected(), 5);  // 65538 - 65534 + 1
    EXPECT_EQ(stats.make_report_block(k_t0).highest_sequence, 0x10002u);
}

TEST(ReceiverStats, WrapWithLossAcrossTheBoundary) {
    ReceiverStats stats;
    (void)feed(stats, {65530, 65531, 65532, 3, 4});  // 65533..2 lost (6 packets)
    EXPECT_EQ(stats.extended_max_sequence(), 65536u + 4);
    EXPECT_EQ(stats.expected(), 65540 - 65531 + 1);  // 10
    EXPECT_EQ(stats.received(), 4u);
    EXPECT_EQ(stats.cumulative_lost(), 6);
}

TEST(ReceiverStats, ProbationAcrossTheWrap) {
    ReceiverStats stats;
    // Our modulo-2^16 probation check takes 65535 -> 0 as sequential (see update_seq).
    EXPECT_EQ(feed(stats, {65535, 0, 1}), (std::vector<bool>{false, true, true}));
    EXPECT_EQ(stats.base_sequence(), 0u);
    EXPECT_EQ(stats.expected(), 2);
}

TEST(ReceiverStats, BigJumpResyncsAfterTwoSequentialPackets) {
    ReceiverStats stats;
    // 100 probation, 101..102 valid. 5000: udelta 4898 >= MAX_DROPOUT -> bad_seq = 5001, dropped.
    // 5001 == bad_seq: init_seq(5001), counted. 5002 in order.
    EXPECT_EQ(feed(stats, {100, 101, 102, 5000, 5001, 5002}),
              (std::vector<bool>{false, true, true, false, true, true}));
    EXPECT_EQ(stats.base_sequence(), 5001u);
    EXPECT_EQ(stats.received(), 2u);
    EXPECT_EQ(stats.expected(), 2);
    EXPECT_EQ(stats.extended_max_sequence(), 5002u);
}

TEST(ReceiverStats, LoneJumpIsIgnored) {
    ReceiverStats stats;
    // A stray 9000 sets bad_seq 9001 but is not counted; 9005 moves bad_seq to 9006; 103 continues.
    EXPECT_EQ(feed(stats, {100, 101, 102, 9000, 9005, 103}),
              (std::vector<bool>{false, true, true, false, false, true}));
    EXPECT_EQ(stats.base_sequence(), 101u);
    EXPECT_EQ(stats.received(), 3u);
    EXPECT_EQ(stats.extended_max_sequence(), 103u);
    EXPECT_EQ(feed(stats, {9006}), (std::vector<bool>{true}));  // 9006 == bad_seq: resync
    EXPECT_EQ(stats.base_sequence(), 9006u);
}

TEST(ReceiverStats, MaxDropoutBoundary) {
    ReceiverStats stats;
    (void)feed(stats, {0, 1});
    // udelta 2999 < MAX_DROPOUT: an in-order gap of 2998 lost.
    EXPECT_EQ(feed(stats, {3000}), (std::vector<bool>{true}));
    EXPECT_EQ(stats.cumulative_lost(), 2998);
    // udelta 3000: treated as a jump.
    EXPECT_EQ(feed(stats, {6000}), (std::vector<bool>{false}));
    // Misorder boundary: udelta = 65536 - 100 = 65436 is still a jump; 65437 is a late packet.
    EXPECT_EQ(feed(stats, {2900}), (std::vector<bool>{false}));
    EXPECT_EQ(feed(stats, {2901}), (std::vector<bool>{true}));
    EXPECT_EQ(stats.extended_max_sequence(), 3000u);
}

TEST(ReceiverStats, FractionLostOverTwoIntervals) {
    ReceiverStats stats;
    // Interval 1: 100 (probation), 101..110 without 105: received 9, expected 10, lost 1.
    feed_range(stats, 100, 104);
    feed_range(stats, 106, 110);
    const ReportBlock first = stats.make_report_block(k_t0);
    EXPECT_EQ(first.fraction_lost, 25);  // (1 << 8) / 10 = 25.6 -> 25
    EXPECT_EQ(first.cumulative_lost, 1);
    EXPECT_EQ(first.highest_sequence, 110u);

    // Interval 2: 111..130 without 115, 120, 121, 125: expected 20, received 16, lost 4.
    feed_range(stats, 111, 114);
    feed_range(stats, 116, 119);
    feed_range(stats, 122, 124);
    feed_range(stats, 126, 130);
    const ReportBlock second = stats.make_report_block(k_t0);
    EXPECT_EQ(second.fraction_lost, 51);  // (4 << 8) / 20 = 51.2 -> 51
    EXPECT_EQ(second.cumulative_lost, 5);
    EXPECT_EQ(second.highest_sequence, 130u);

    // Interval 3: nothing new: expected_interval 0 -> fraction 0; cumulative unchanged.
    const ReportBlock third = stats.make_report_block(k_t0);
    EXPECT_EQ(third.fraction_lost, 0);
    EXPECT_EQ(third.cumulative_lost, 5);

    // Interval 4: 131..134 plus late duplicates of 133 and 134: received 6 > expected 4 -> fraction 0.
    (void)feed(stats, {131, 132, 133, 134, 133, 134});
    EXPECT_EQ(stats.make_report_block(k_t0).fraction_lost, 0);
    EXPECT_EQ(stats.cumulative_lost(), 3);
}

TEST(ReceiverStats, JitterFollowsTheIntegerFormOfA8) {
    ReceiverStats stats;
    // Timestamps advance 160 per packet; transit = arrival - timestamp per packet:
    //   seq 1: probation, ignored;  seq 2: 1000 (first valid, no D yet);
    //   seq 3: 1032 |D| = 32: J16 = 0 + 32 - ((0 + 8) >> 4 = 0)     = 32   -> J = 32 >> 4  = 2
    //   seq 4: 1016 |D| = 16: J16 = 32 + 16 - ((32 + 8) >> 4 = 2)   = 46   -> J = 46 >> 4  = 2
    //   seq 5: 1080 |D| = 64: J16 = 46 + 64 - ((46 + 8) >> 4 = 3)   = 107  -> J = 107 >> 4 = 6
    //   seq 6: 1080 |D| = 0:  J16 = 107 + 0 - ((107 + 8) >> 4 = 7)  = 100  -> J = 100 >> 4 = 6
    // (The floating-point form gives 2, 2.875, 6.70, 6.28.)
    const std::uint32_t transits[] = {5000, 1000, 1032, 1016, 1080, 1080};
    const std::uint32_t expected_jitter[] = {0, 0, 2, 2, 6, 6};
    for (std::uint16_t i = 0; i < 6; ++i) {
        const std::uint32_t ts = 160u * (i + 1);
        stats.on_packet(static_cast<std::uint16_t>(i + 1), ts, ts + transits[i]);
        EXPECT_EQ(stats.jitter(), expected_jitter[i]) << "after seq " << i + 1;
    }
    EXPECT_EQ(stats.make_report_block(k_t0).jitter, 6u);
}

TEST(ReceiverStats, JitterIgnoresTimestampAndClockWrap) {
    ReceiverStats stats;
    // Same transit sequence as above, with both clocks starting just below 2^32.
    const std::uint32_t transits[] = {5000, 1000, 1032, 1016, 1080, 1080};
    for (std::uint16_t i = 0; i < 6; ++i) {
        const std::uint32_t ts = 0xffffff00u + 160u * i;
        stats.on_packet(static_cast<std::uint16_t>(i + 1), ts, ts + transits[i]);
    }
    EXPECT_EQ(stats.jitter(), 6u);
}

TEST(ReceiverStats, JitterWithNegativeDifferences) {
    ReceiverStats stats;
    // transit 2000 then 1000: D = -1000, |D| = 1000 -> J16 = 1000 -> J = 62 (1000 / 16 = 62.5).
    stats.on_packet(1, 0, 0);
    stats.on_packet(2, 160, 160 + 2000);
    stats.on_packet(3, 320, 320 + 1000);
    EXPECT_EQ(stats.jitter(), 62u);
}

TEST(ReceiverStats, LsrAndDlsrFromTheLastSenderReport) {
    ReceiverStats stats(9);
    feed_range(stats, 1, 3);
    EXPECT_EQ(stats.make_report_block(k_t0).last_sr, 0u);  // no SR yet: LSR = DLSR = 0
    stats.on_sender_report(0xabcdb70520001234ull, k_t0 + 10s);
    const ReportBlock block = stats.make_report_block(k_t0 + 10s + 5250ms);
    EXPECT_EQ(block.last_sr, 0xb7052000u);
    EXPECT_EQ(block.delay_since_last_sr, 0x54000u);  // 5.25 s * 65536
    EXPECT_EQ(block.ssrc, 9u);
}

TEST(ReceiverStats, CumulativeLostIsClampedInTheBlock) {
    ReceiverStats stats;
    (void)feed(stats, {0, 1});
    // Each step of 2999 is in order and loses 2998 packets; 2800 steps lose 8,394,400 > 0x7fffff.
    std::uint16_t seq = 1;
    for (int i = 0; i < 2800; ++i) {
        seq = static_cast<std::uint16_t>(seq + 2999);
        ASSERT_TRUE(stats.on_packet(seq, 0, 0));
    }
    EXPECT_EQ(stats.cumulative_lost(), 2800 * 2998);
    EXPECT_EQ(stats.make_report_block(k_t0).cumulative_lost, 0x7fffff);
    EXPECT_EQ(clamp_cumulative_lost(-10'000'000), -0x800000);
    EXPECT_EQ(clamp_cumulative_lost(-5), -5);
}

TEST(ReceiverStats, RtpClockUnits) {
    EXPECT_EQ(to_rtp_units(1s, 90000), 90000u);
    EXPECT_EQ(to_rtp_units(20ms, 8000), 160u);
    EXPECT_EQ(to_rtp_units(-1s, 90000), 0u - 90000u);
    EXPECT_EQ(to_rtp_units(1500ms, 48000), 72000u);
}

}  // namespace
}  // namespace sg::rtp
