#include "punch/port_prediction.hpp"

#include <gtest/gtest.h>

namespace sg::punch {
namespace {

struct StepCase {
    const char* what;
    std::uint16_t m1, m2, m3;
    std::optional<int> step;
};

TEST(PortPrediction, SequentialStepFromThreeMappings) {
    const StepCase cases[] = {
        {"one after another", 40000, 40001, 40002, 1},
        {"a probe's mapping between M1 and M2", 40000, 40002, 40003, 1},
        {"two ports per mapping", 40000, 40002, 40004, 2},
        {"downwards", 40000, 39999, 39998, -1},
        {"the largest step taken", 40000, 40064, 40128, 64},
        {"cone: one port for all", 40000, 40000, 40000, std::nullopt},
        {"address-dependent: M3 == M2", 40000, 40001, 40001, std::nullopt},
        {"random", 40000, 51234, 23456, std::nullopt},
        {"a step too large to tell from random", 40000, 40100, 40200, std::nullopt},
        {"M2 - M1 not a multiple of the step", 40000, 40003, 40005, std::nullopt},
        {"M2 - M1 against the step's direction", 40000, 39998, 39999, std::nullopt},
        {"too many allocations between M1 and M2", 40000, 40020, 40021, std::nullopt},
    };
    for (const auto& c : cases)
        EXPECT_EQ(sequential_step(c.m1, c.m2, c.m3), c.step) << c.what;
}

TEST(PortPrediction, PredictedPortsFollowTheStep) {
    EXPECT_EQ(predicted_ports(40000, 2, 3), (std::vector<std::uint16_t>{40002, 40004, 40006}));
    EXPECT_EQ(predicted_ports(40000, -1, 2), (std::vector<std::uint16_t>{39999, 39998}));
    EXPECT_EQ(predicted_ports(40000, 1).size(), k_prediction_window);
    // Never past 65535 nor below 1024: no wrap-around into ports a NAT does not hand out.
    EXPECT_EQ(predicted_ports(65534, 1, 3), (std::vector<std::uint16_t>{65535}));
    EXPECT_EQ(predicted_ports(1030, -4, 3), (std::vector<std::uint16_t>{1026}));
    EXPECT_TRUE(predicted_ports(40000, 0, 3).empty());
}

}  // namespace
}  // namespace sg::punch
