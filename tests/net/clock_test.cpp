#include "net/clock.hpp"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

namespace sg::net {
namespace {

using namespace std::chrono_literals;

TEST(ClockTest, FollowsTheSteadyClockWithoutManualTime) {
    const auto before = std::chrono::steady_clock::now();
    const auto now = Clock::now();
    EXPECT_GE(now, before);
    EXPECT_LE(now, std::chrono::steady_clock::now());
}

TEST(ClockTest, ManualTimeStandsStillUntilMoved) {
    ManualTime time;
    const auto start = Clock::now();
    std::this_thread::sleep_for(5ms);
    EXPECT_EQ(Clock::now(), start);
    time.advance(250ms);
    EXPECT_EQ(Clock::now() - start, 250ms);
}

TEST(ClockTest, TimersFireWhenTheClockIsMovedToTheirDeadline) {
    ManualTime time;
    asio::io_context io;
    const auto start = Clock::now();
    std::vector<Clock::duration> fired;
    Timer early(io, 100ms);
    Timer late(io, 300ms);
    early.async_wait([&](const asio::error_code&) { fired.push_back(Clock::now() - start); });
    late.async_wait([&](const asio::error_code&) { fired.push_back(Clock::now() - start); });

    ManualTime::settle(io);
    EXPECT_TRUE(fired.empty());
    time.advance(99ms);
    ManualTime::settle(io);
    EXPECT_TRUE(fired.empty()) << "fired before its deadline";
    time.advance(1ms);
    ManualTime::settle(io);
    EXPECT_EQ(fired, std::vector<Clock::duration>{100ms});
    // run_for moves the clock step by step, so the late timer sees its own deadline, not the end of the run.
    EXPECT_TRUE(time.run_for(io, 1s, [&] { return fired.size() == 2; }));
    EXPECT_EQ(fired, (std::vector<Clock::duration>{100ms, 300ms}));
}

TEST(ClockTest, TimersOnAnotherThreadNoticeAMoveWithoutSettling) {
    ManualTime time;
    asio::io_context io;
    Timer timer(io, 10s);
    std::promise<void> fired;
    timer.async_wait([&](const asio::error_code&) { fired.set_value(); });
    std::thread runner([&] { io.run(); });
    auto future = fired.get_future();
    EXPECT_EQ(future.wait_for(20ms), std::future_status::timeout);
    time.advance(10s);
    // Asio looks again after at most k_manual_poll of real time.
    EXPECT_EQ(future.wait_for(5s), std::future_status::ready);
    runner.join();
}

}  // namespace
}  // namespace sg::net
