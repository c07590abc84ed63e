#include "net/rate_limited_log.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace sg::net {
namespace {

using namespace std::chrono_literals;
using Clock = RateLimitedLog::Clock;

TEST(RateLimitedLog, WritesTheBudgetThenCountsTheRest) {
    RateLimitedLog log("site", {3, 10s});
    const Clock::time_point t0{};
    for (int i = 0; i < 3; ++i) {
        const auto v = log.admit(t0 + std::chrono::milliseconds(i));
        EXPECT_TRUE(v.write);
        EXPECT_EQ(v.suppressed, 0u);
    }
    for (int i = 0; i < 4211; ++i) {
        const auto v = log.admit(t0 + 5s);
        EXPECT_FALSE(v.write);
        EXPECT_EQ(v.suppressed, 0u);
    }
}

TEST(RateLimitedLog, SummarisesHeldBackLinesWhenTheWindowRollsOver) {
    RateLimitedLog log("socks refused", {1, 10s});
    const Clock::time_point t0{};
    EXPECT_TRUE(log.admit(t0).write);
    const auto before = RateLimitedLog::suppressed_total();
    for (int i = 0; i < 4211; ++i)
        EXPECT_FALSE(log.admit(t0 + 9s).write);
    EXPECT_EQ(RateLimitedLog::suppressed_total() - before, 4211u);

    const auto next = log.admit(t0 + 10s);  // the window ends at t0 + 10 s exactly
    EXPECT_TRUE(next.write);
    EXPECT_EQ(next.suppressed, 4211u);
    EXPECT_EQ(log.summary(next.suppressed), "socks refused: ... and 4,211 more like it in the last 10 s");

    // The summary is handed out once; a quiet window has nothing to summarise.
    EXPECT_FALSE(log.admit(t0 + 11s).write);
    const auto quiet = log.admit(t0 + 60s);
    EXPECT_TRUE(quiet.write);
    EXPECT_EQ(quiet.suppressed, 1u);
    const auto after_quiet = log.admit(t0 + 100s);
    EXPECT_TRUE(after_quiet.write);
    EXPECT_EQ(after_quiet.suppressed, 0u);
}

TEST(RateLimitedLog, TheWindowStartsWithTheFirstLineAfterAQuietSpell) {
    RateLimitedLog log("site", {2, 10s});
    const Clock::time_point t0{};
    EXPECT_TRUE(log.admit(t0 + 100s).write);
    EXPECT_TRUE(log.admit(t0 + 105s).write);
    EXPECT_FALSE(log.admit(t0 + 109s).write);
    EXPECT_TRUE(log.admit(t0 + 110s).write);
}

TEST(RateLimitedLog, LogWritesWithoutThrowing) {
    RateLimitedLog log("site", {1, 10s});
    log.warn("refused {}", "peer");
    log.warn("refused {}", "peer");  // held back
    EXPECT_GE(RateLimitedLog::suppressed_total(), 1u);
}

TEST(GroupThousands, Groups) {
    EXPECT_EQ(group_thousands(0), "0");
    EXPECT_EQ(group_thousands(999), "999");
    EXPECT_EQ(group_thousands(1000), "1,000");
    EXPECT_EQ(group_thousands(4211), "4,211");
    EXPECT_EQ(group_thousands(1234567), "1,234,567");
}

}  // namespace
}  // namespace sg::net
