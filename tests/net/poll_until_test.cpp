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

TEST(PollUntil, ThenIsNotCalledWhileReadyDoesNotHold) {
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
    io.run_for(std::chrono::milliseconds(30));  // it keeps looking, and never gives up on its own
    EXPECT_GT(looks, 1);
    EXPECT_FALSE(called);
}

}  // namespace
}  // namespace sg::net
