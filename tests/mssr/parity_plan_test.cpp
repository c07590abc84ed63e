#include "mssr/parity_plan.hpp"

#include <gtest/gtest.h>

#include <algorithm>
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

// The count by value at the bench's losses, each datagram worth 0.15 frames: a 12-fragment frame that spoils
// itself alone gets no parity at 1 % loss (it is whole 89 % of the time, and one parity fragment would save
// 0.11 frames), one at 5 %; the same frame first in a 50-frame GOP, where its loss spoils 48 frames, gets
// two and four; a 30-fragment key frame three at 1 % and nine at 10 %.
TEST(MssrParityPlan, TheCountByValueFollowsWhatABrokenFrameSpoils) {
    EXPECT_EQ(parity_count_for_value(5, 0.01, 1, 0.15), 0u);
    EXPECT_EQ(parity_count_for_value(12, 0.01, 1, 0.15), 0u);
    EXPECT_EQ(parity_count_for_value(12, 0.01, 2, 0.15), 1u);
    EXPECT_EQ(parity_count_for_value(12, 0.01, 48, 0.15), 2u);
    EXPECT_EQ(parity_count_for_value(12, 0.05, 1, 0.15), 1u);
    EXPECT_EQ(parity_count_for_value(12, 0.05, 48, 0.15), 4u);
    EXPECT_EQ(parity_count_for_value(30, 0.01, 50, 0.15), 3u);
    EXPECT_EQ(parity_count_for_value(30, 0.10, 50, 0.15), 9u);
    EXPECT_EQ(parity_count_for_value(10, 0.0, 50, 0.15), 0u);  // a path that loses nothing: none
    // Where a frame is lost whatever its few parity fragments do, they are not sent either.
    EXPECT_EQ(parity_count_for_value(250, 0.5, 1000, 0.15), 0u);
}

// The count is the least total cost over every count the code allows (checked here by brute force), the
// smallest on a tie; it never falls as the span grows or as a datagram gets cheaper.
TEST(MssrParityPlan, TheCountByValueIsTheLeastTotalCost) {
    for (const std::size_t count : {std::size_t{1}, std::size_t{4}, std::size_t{12}, std::size_t{30},
                                    std::size_t{69}, std::size_t{200}}) {
        for (const double loss : {0.001, 0.01, 0.05, 0.10, 0.20, 0.35}) {
            std::size_t previous = 0;
            for (const double span : {1.0, 2.0, 5.0, 20.0, 50.0, 250.0}) {
                const double worth = 0.15;
                const std::size_t m = *parity_count_for_value(count, loss, span, worth);
                const std::size_t most = std::min(count, 256 - count);
                ASSERT_LE(m, most);
                const auto cost = [&](std::size_t k) {
                    return static_cast<double>(k) * worth + span * binomial_tail_above(count + k, k, loss);
                };
                for (std::size_t k = 0; k <= most; ++k) {
                    if (k < m) {
                        EXPECT_GT(cost(k), cost(m)) << count << ' ' << loss << ' ' << span << ' ' << k;
                    } else {
                        EXPECT_GE(cost(k), cost(m)) << count << ' ' << loss << ' ' << span << ' ' << k;
                    }
                }
                EXPECT_GE(m, previous) << count << ' ' << loss << ' ' << span;
                previous = m;
                EXPECT_GE(*parity_count_for_value(count, loss, span, worth / 4), m);
            }
        }
    }
    EXPECT_FALSE(parity_count_for_value(0, 0.01, 1, 0.15));
    EXPECT_FALSE(parity_count_for_value(256, 0.01, 1, 0.15));  // beyond the Cauchy code
    EXPECT_EQ(parity_count_for_value(10, 7.0, 50, 0.15), parity_count_for_value(10, 0.5, 50, 0.15));
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
