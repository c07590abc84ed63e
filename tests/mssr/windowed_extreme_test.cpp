#include "mssr/windowed_extreme.hpp"

#include <gtest/gtest.h>

#include <functional>

#include "mssr_test_util.hpp"

namespace sg::mssr {
namespace {

using test::at_ms;
using Max = WindowedExtreme<int, std::greater<>>;
using Min = WindowedExtreme<int, std::less<>>;

TEST(MssrWindowedExtreme, EmptyUntilTheFirstSample) {
    const Max m(std::chrono::seconds(10));
    EXPECT_FALSE(m.get(at_ms(0)).has_value());
    EXPECT_FALSE(m.last_known().has_value());
}

TEST(MssrWindowedExtreme, KeepsTheBestOfTheLastTwoWindows) {
    Max m(std::chrono::seconds(10));
    m.add(at_ms(1'000), 7);
    m.add(at_ms(5'000), 3);
    EXPECT_EQ(m.get(at_ms(5'000)), 7);
    m.add(at_ms(12'000), 4);  // a new window; 7 is still the last one's
    EXPECT_EQ(m.get(at_ms(12'000)), 7);
    m.add(at_ms(23'000), 2);  // 7 ages out; 4 is the window before
    EXPECT_EQ(m.get(at_ms(23'000)), 4);

    Min n(std::chrono::seconds(10));
    n.add(at_ms(0), 7);
    n.add(at_ms(1), 3);
    EXPECT_EQ(n.get(at_ms(1)), 3);
}

TEST(MssrWindowedExtreme, AgesOutWithoutNewSamples) {
    Max m(std::chrono::seconds(10));
    m.add(at_ms(1'000), 7);
    EXPECT_EQ(m.get(at_ms(10'999)), 7);
    EXPECT_EQ(m.get(at_ms(20'999)), 7);  // the window before now
    EXPECT_FALSE(m.get(at_ms(21'000)).has_value());
    EXPECT_EQ(m.last_known(), 7);  // for a figure where a stale value beats none
    m.add(at_ms(40'000), 2);       // long after: the old window is not "the one before"
    EXPECT_EQ(m.get(at_ms(40'000)), 2);
    EXPECT_EQ(m.last_known(), 2);
}

}  // namespace
}  // namespace sg::mssr
