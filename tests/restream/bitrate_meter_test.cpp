#include "restream/bitrate_meter.hpp"

#include <gtest/gtest.h>

namespace sg::proxy {
namespace {

using std::chrono::milliseconds;
const auto t0 = BitrateMeter::Clock::time_point{} + std::chrono::hours{1};

TEST(BitrateMeter, ZeroBeforeTheFirstWindowCompletes) {
    BitrateMeter meter;
    EXPECT_EQ(meter.bits_per_second(t0), 0U);
    meter.add(1000, t0);
    EXPECT_EQ(meter.bits_per_second(t0 + milliseconds{500}), 0U);
}

TEST(BitrateMeter, ReportsTheLastCompleteWindow) {
    BitrateMeter meter;
    // 125 bytes every 10 ms: 100 packets a second, 100 kbit/s.
    for (int i = 0; i <= 150; ++i)
        meter.add(125, t0 + milliseconds{10 * i});
    EXPECT_EQ(meter.bits_per_second(t0 + milliseconds{1500}), 100'000U);
}

TEST(BitrateMeter, AWindowPastItsEndIsJudgedWithoutANewPacket) {
    BitrateMeter meter;
    for (int i = 0; i < 100; ++i)
        meter.add(125, t0 + milliseconds{10 * i});
    // No packet closed the window, but it is over: its 100 kbit/s over 1.25 s reads as 80 kbit/s.
    EXPECT_EQ(meter.bits_per_second(t0 + milliseconds{1250}), 80'000U);
}

TEST(BitrateMeter, AStoppedStreamReadsZero) {
    BitrateMeter meter;
    for (int i = 0; i <= 150; ++i)
        meter.add(125, t0 + milliseconds{10 * i});
    EXPECT_EQ(meter.bits_per_second(t0 + milliseconds{4000}), 0U);
    // A packet after the gap starts afresh rather than counting the gap as one slow window.
    meter.add(125, t0 + milliseconds{5000});
    EXPECT_EQ(meter.bits_per_second(t0 + milliseconds{5100}), 0U);
}

}  // namespace
}  // namespace sg::proxy
