#include "mssr/parity_plan.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace sg::mssr {
namespace {

TEST(MssrParityPlan, BinomialTailMatchesTheClosedForms) {
    // P(X > 0) = 1 - (1 - p)^n; P(X > 1) = 1 - (1 - p)^n - n p (1 - p)^(n - 1).
    EXPECT_NEAR(binomial_tail_above(10, 0, 0.1), 1 - std::pow(0.9, 10), 1e-12);
    EXPECT_NEAR(binomial_tail_above(11, 1, 0.1), 1 - std::pow(0.9, 11) - 11 * 0.1 * std::pow(0.9, 10), 1e-12);
    EXPECT_NEAR(binomial_tail_above(4, 2, 0.5), 5.0 / 16, 1e-12);  // 4 and 3 of 4: (1 + 4) / 16
    EXPECT_EQ(binomial_tail_above(5, 5, 0.3), 0.0);                // more than all cannot be lost
    EXPECT_EQ(binomial_tail_above(5, 1, 0.0), 0.0);
    EXPECT_EQ(binomial_tail_above(5, 1, 1.0), 1.0);
    // Large enough not to underflow at the clamp's worst: 512 datagrams at p = 0.5, half of them lost.
    EXPECT_NEAR(binomial_tail_above(512, 256, 0.5), (1 - 0.0353) / 2, 0.001);  // P(X = 256) ~ 1/sqrt(256 pi)
}

// The counts at the losses the bench runs, for a 10-fragment delta frame (residual 0.1) and a 69-fragment
// key frame (0.01); each is the smallest that meets the target.
TEST(MssrParityPlan, TheCountIsTheSmallestThatMeetsTheTarget) {
    EXPECT_EQ(parity_count_for(10, 0.0, 0.1), 1u);  // protected at all: at least one
    EXPECT_EQ(parity_count_for(10, 0.01, 0.1), 1u);
    EXPECT_EQ(parity_count_for(10, 0.05, 0.1), 2u);  // one would leave 10.2 % broken
    EXPECT_EQ(parity_count_for(10, 0.10, 0.1), 3u);
    EXPECT_EQ(parity_count_for(10, 0.20, 0.1), 5u);
    for (const double loss : {0.01, 0.05, 0.10, 0.20}) {
        for (const std::size_t count : {std::size_t{10}, std::size_t{69}}) {
            const double residual = count == 10 ? 0.1 : 0.01;
            const std::size_t m = *parity_count_for(count, loss, residual);
            EXPECT_LE(binomial_tail_above(count + m, m, loss), residual) << loss << ' ' << count;
            if (m > 1) {
                EXPECT_GT(binomial_tail_above(count + m - 1, m - 1, loss), residual) << loss << ' ' << count;
            }
        }
    }
    EXPECT_LT(*parity_count_for(69, 0.01, 0.01), 9u);  // fewer than groups of 8 give
    EXPECT_GT(*parity_count_for(69, 0.10, 0.01), 9u);  // more
}

TEST(MssrParityPlan, TheCountStaysWithinTheDataAndTheCodesField) {
    EXPECT_EQ(parity_count_for(1, 0.5, 0.001), 1u);  // never more parity than data
    EXPECT_EQ(parity_count_for(3, 0.5, 0.001), 3u);
    EXPECT_EQ(parity_count_for(250, 0.5, 0.001), 6u);  // 250 + 6 = 256, the field's size
    EXPECT_EQ(parity_count_for(255, 0.0, 0.1), 1u);
    EXPECT_FALSE(parity_count_for(256, 0.01, 0.1));  // beyond the Cauchy code: the caller's fixed groups
    EXPECT_FALSE(parity_count_for(0, 0.01, 0.1));
    EXPECT_EQ(parity_count_for(10, 7.0, 0.1), parity_count_for(10, 0.5, 0.1));  // clamped
    EXPECT_EQ(parity_count_for(10, -1.0, 0.1), 1u);
}

TEST(MssrParityPlan, TheLossEstimateWaitsForEnoughFatesAndFollowsAChange) {
    LossEstimate e;
    for (std::uint64_t i = 0; i + 1 < LossEstimate::k_min_fates; ++i)
        e.on_delivered();
    EXPECT_FALSE(e.fraction());
    e.on_lost();
    ASSERT_TRUE(e.fraction());
    EXPECT_NEAR(*e.fraction(), 0.01, 0.001);
    // One loss in ten for a long while: the estimate goes there, and back down when the path heals.
    for (int i = 0; i < 10000; ++i) {
        if (i % 10 == 0) {
            e.on_lost();
        } else {
            e.on_delivered();
        }
    }
    EXPECT_NEAR(*e.fraction(), 0.1, 0.01);
    for (int i = 0; i < 5000; ++i)
        e.on_delivered();
    EXPECT_LT(*e.fraction(), 0.001);
}

}  // namespace
}  // namespace sg::mssr
