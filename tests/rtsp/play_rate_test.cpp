#include "rtsp/play_rate.hpp"

#include <gtest/gtest.h>

namespace sg::rtsp {
namespace {

TEST(PlayRate, ScaleIsASignedNonZeroDecimal) {
    EXPECT_EQ(*parse_scale("2"), 2.0);
    EXPECT_EQ(*parse_scale(" -2.5 "), -2.5);
    EXPECT_EQ(*parse_scale("0.5"), 0.5);
    EXPECT_EQ(*parse_scale("1."), 1.0);
    for (const char* bad : {"", "-", "0", "-0.000", "+2", "2x", ".5", "1e3", "1234567", "1.1234567", "--1"})
        EXPECT_FALSE(parse_scale(bad)) << bad;
}

TEST(PlayRate, SpeedIsAPositiveDecimal) {
    EXPECT_EQ(*parse_speed("4"), 4.0);
    EXPECT_EQ(*parse_speed("0.25"), 0.25);
    for (const char* bad : {"-1", "0", "", "fast"})
        EXPECT_FALSE(parse_speed(bad)) << bad;
}

TEST(PlayRate, FormatsWhatParsesBack) {
    EXPECT_EQ(format_rate(2.0), "2");
    EXPECT_EQ(format_rate(-0.5), "-0.5");
    EXPECT_EQ(format_rate(1.25), "1.25");
    EXPECT_EQ(format_rate(1.0 / 16), "0.062");  // 0.0625 rounds to even
    for (const double v : {-16.0, -1.0, 0.001, 0.5, 3.0, 16.0})
        EXPECT_NEAR(*parse_scale(format_rate(v)), v, 0.0005) << v;
}

}  // namespace
}  // namespace sg::rtsp
