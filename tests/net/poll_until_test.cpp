#include "net/poll_until.hpp"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <chrono>

namespace sg::net {
namespace {

TEST(PollUntil, CallsThenOnceWhenReadyHolds) {
    asio::io_context io;
    asio::steady_timer timer(io);
    int looks = 0;
    int calls = 0;
    poll_until(
        timer, std::chrono::milliseconds(1), [&looks] { return ++looks == 3; }, [&calls] { ++calls; });
    io.run();  // returns once nothing is armed: the wait ended
    EXPECT_EQ(looks, 3);
    EXPECT_EQ(calls, 1);
}

TEST(PollUntil, CancellingTheTimerEndsTheWaitWithoutCallingThen) {
    asio::io_context io;
    asio::steady_timer timer(io);
    int looks = 0;
    bool called = false;
    poll_until(
        timer, std::chrono::milliseconds(1),
        [&looks] {
            ++looks;
            return false;
        },
        [&called] { called = true; });
    asio::steady_timer stop(io);  // as a shutdown of its own would
    stop.expires_after(std::chrono::milliseconds(10));
    stop.async_wait([&timer](const std::error_code&) { timer.cancel(); });
    io.run();  // returns: the cancelled wait armed nothing more
    EXPECT_GT(looks, 0);
    EXPECT_FALSE(called);
}

}  // namespace
}  // namespace sg::net
