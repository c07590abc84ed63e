#include "restream/upstream_silence.hpp"

#include <gtest/gtest.h>

namespace sg::proxy {
namespace {

using namespace std::chrono_literals;
using Clock = UpstreamSilence::Clock;

const Clock::time_point k_start{std::chrono::hours(1)};

// `count` packets `gap` apart from `from`; returns the last arrival.
Clock::time_point steady(UpstreamSilence& silence, Clock::time_point from, Clock::duration gap, int count) {
    auto at = from;
    for (int i = 0; i < count; ++i) {
        at += gap;
        silence.on_packet(at);
    }
    return at;
}

TEST(UpstreamSilence, SteadyStreamThenSilenceTripsAfterEightIntervalsNotBefore) {
    // 5 packets/s: 8 intervals = 1.6 s, above the 1 s floor.
    UpstreamSilence silence(k_start);
    const auto last = steady(silence, k_start, 200ms, 100);
    ASSERT_TRUE(silence.typical_gap());
    EXPECT_EQ(*silence.typical_gap(), 200ms);
    EXPECT_FALSE(silence.check(last + 200ms));
    EXPECT_FALSE(silence.check(last + 1590ms));
    EXPECT_EQ(silence.deadline(), last + 1600ms);
    const auto verdict = silence.check(last + 1600ms);
    ASSERT_TRUE(verdict);
    EXPECT_FALSE(verdict->bye);
    EXPECT_EQ(verdict->silent_for, 1600ms);
    EXPECT_DOUBLE_EQ(verdict->intervals, 8.0);
    EXPECT_EQ(verdict->describe(), "silent for 1.6 s, 8 intervals");
}

TEST(UpstreamSilence, FastStreamIsBoundedByTheFloor) {
    // Video in bursts: most gaps ~0, frames 40 ms apart. 8 x 40 ms is under the 1 s floor.
    UpstreamSilence silence(k_start);
    auto at = k_start;
    for (int frame = 0; frame < 50; ++frame) {
        at += 40ms;
        for (int packet = 0; packet < 5; ++packet)
            silence.on_packet(at + std::chrono::microseconds(packet * 100));
    }
    const auto last = at + 400us;
    EXPECT_EQ(silence.timeout(), 1s);
    EXPECT_FALSE(silence.check(last + 999ms));
    const auto verdict = silence.check(last + 1s);
    ASSERT_TRUE(verdict);
    EXPECT_EQ(verdict->describe(), "silent for 1.0 s, 25 intervals");
}

TEST(UpstreamSilence, SlowStreamOfOnePacketPerSecondDoesNotTripEarly) {
    UpstreamSilence silence(k_start);
    const auto last = steady(silence, k_start, 1s, 30);
    EXPECT_FALSE(silence.check(last + 1500ms));  // a fixed 1 s rule would have tripped here
    EXPECT_FALSE(silence.check(last + 7900ms));
    EXPECT_TRUE(silence.check(last + 8s));
}

TEST(UpstreamSilence, NeverLaterThanTheCeiling) {
    UpstreamSilence silence(k_start);
    const auto last = steady(silence, k_start, 3s, 20);
    EXPECT_EQ(silence.timeout(), 10s);
    EXPECT_FALSE(silence.check(last + 9s));
    EXPECT_TRUE(silence.check(last + 10s));
}

TEST(UpstreamSilence, TooFewGapsKnownMeansTheCeiling) {
    UpstreamSilence silence(k_start);
    const auto last = steady(silence, k_start, 10ms, static_cast<int>(UpstreamSilence::k_min_gaps));
    // k_min_gaps packets make k_min_gaps - 1 gaps after the first.
    EXPECT_FALSE(silence.typical_gap());
    EXPECT_FALSE(silence.check(last + 5s));
    EXPECT_TRUE(silence.check(last + 10s));
    silence.on_packet(last + 10ms);
    EXPECT_TRUE(silence.typical_gap());
    EXPECT_EQ(silence.timeout(), 1s);
}

TEST(UpstreamSilence, BeforeAnyPacketCountsFromTheStart) {
    UpstreamSilence silence(k_start);
    EXPECT_FALSE(silence.check(k_start + 9s));
    EXPECT_TRUE(silence.check(k_start + 10s));
}

TEST(UpstreamSilence, ByeEndsItAtOnce) {
    UpstreamSilence silence(k_start);
    const auto last = steady(silence, k_start, 20ms, 100);
    EXPECT_FALSE(silence.check(last + 1ms));
    silence.on_bye();
    const auto verdict = silence.check(last + 1ms);
    ASSERT_TRUE(verdict);
    EXPECT_TRUE(verdict->bye);
    EXPECT_EQ(verdict->describe(), "RTCP BYE");
}

TEST(UpstreamSilence, OnePauseInTheWindowRaisesTheTimeoutUntilItLeavesTheWindow) {
    // A stream that paused 500 ms once is given 8 x 500 ms; after k_window faster gaps it is fast again.
    UpstreamSilence silence(k_start);
    auto last = steady(silence, k_start, 20ms, 40);
    last = steady(silence, last, 500ms, 1);
    EXPECT_EQ(silence.timeout(), 4s);
    EXPECT_FALSE(silence.check(last + 3s));
    last = steady(silence, last, 20ms, static_cast<int>(UpstreamSilence::k_window));
    EXPECT_EQ(silence.timeout(), 1s);
}

}  // namespace
}  // namespace sg::proxy
