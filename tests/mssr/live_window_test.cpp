// live_congestion: the live mode's window floor, and that NewReno's reactions respect it.
#include "mssr/live_window.hpp"

#include <gtest/gtest.h>

namespace sg::mssr {
namespace {

using namespace std::chrono_literals;

TEST(LiveWindow, ZeroRateLeavesTheTcpFriendlyDefault) {
    const CongestionConfig base;
    const CongestionConfig live = live_congestion(base, 0, 120ms, 1344);
    EXPECT_EQ(live.min_window_packets, base.min_window_packets);
    EXPECT_EQ(live.initial_window_packets, base.initial_window_packets);
}

TEST(LiveWindow, FloorIsTheRateForOneBudgetInDatagrams) {
    // 4,500 kbit/s for 120 ms = 67,500 octets = 50.2 datagrams of 1,344: 51.
    const CongestionConfig live = live_congestion(CongestionConfig{}, 4500, 120ms, 1344);
    EXPECT_EQ(live.min_window_packets, 51u);
    EXPECT_EQ(live.initial_window_packets, 51u);
    // A tiny rate still keeps two datagrams, and never lowers a larger initial window.
    const CongestionConfig tiny = live_congestion(CongestionConfig{}, 1, 10ms, 548);
    EXPECT_EQ(tiny.min_window_packets, 2u);
    EXPECT_EQ(tiny.initial_window_packets, 10u);
}

TEST(LiveWindow, LossEventsNeverHalveBelowTheFloor) {
    CongestionConfig config = live_congestion(CongestionConfig{}, 4500, 120ms, 1344);
    config.mss = 1344;
    CongestionControl cc(config);
    const std::size_t floor = 51u * 1344;
    EXPECT_EQ(cc.window(), floor);
    std::int64_t next = 100;
    for (int i = 0; i < 20; ++i) {
        cc.on_loss(next - 1, next);  // a new loss event each time
        next += 100;
        EXPECT_GE(cc.window(), floor);
    }
    CongestionControl plain(CongestionConfig{1344});
    for (int i = 0; i < 20; ++i, next += 100)
        plain.on_loss(next - 1, next);
    EXPECT_LT(plain.window(), floor / 10);  // what the live mode exists for
}

}  // namespace
}  // namespace sg::mssr
