// The descriptor and port arithmetic behind testplayer's limit check, and the fixes its messages name.
#include "loadtest/limits.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace sg::loadtest {
namespace {

constexpr std::uint64_t k_nr_open = 1'048'576;
constexpr std::uint64_t k_unlimited = std::numeric_limits<std::uint64_t>::max();

bool contains(const std::optional<std::string>& text, std::string_view part) {
    return text && text->find(part) != std::string::npos;
}

TEST(Needs, UdpPlayerHoldsTwoSocketsPerTrackBesidesItsConnection) {
    const auto av = needs_for(1000, /*tcp_transport=*/false, 2);
    EXPECT_EQ(av.descriptors, 1000 * 5 + k_spare_descriptors);
    EXPECT_EQ(av.tcp_ports, 1000u);
    EXPECT_EQ(av.udp_ports, 4000u);
    const auto audio = needs_for(10'000, false, 1);
    EXPECT_EQ(audio.descriptors, 10'000 * 3 + k_spare_descriptors);
    EXPECT_EQ(audio.udp_ports, 20'000u);
}

TEST(Needs, TcpPlayerHoldsOnlyItsConnectionWhateverTheTracks) {
    const auto one = needs_for(10'000, /*tcp_transport=*/true, 1);
    const auto three = needs_for(10'000, true, 3);
    EXPECT_EQ(one.descriptors, 10'000 + k_spare_descriptors);
    EXPECT_EQ(one.tcp_ports, 10'000u);
    EXPECT_EQ(one.udp_ports, 0u);
    EXPECT_EQ(three.descriptors, one.descriptors);
}

TEST(DescriptorTarget, LeavesALimitThatFitsAlone) {
    const DescriptorLimit current{4096, 8192};
    EXPECT_EQ(descriptor_target(4096, current, k_nr_open, true), current);
    EXPECT_EQ(descriptor_target(100, current, k_nr_open, false), current);
}

TEST(DescriptorTarget, RaisesTheSoftLimitToTheHardOne) {
    EXPECT_EQ(descriptor_target(5000, {1024, 20'000}, k_nr_open, false), (DescriptorLimit{20'000, 20'000}));
    EXPECT_EQ(descriptor_target(5000, {1024, 20'000}, k_nr_open, true), (DescriptorLimit{20'000, 20'000}));
    // An unlimited hard limit still stops at fs.nr_open.
    EXPECT_EQ(descriptor_target(5000, {1024, k_unlimited}, k_nr_open, false),
              (DescriptorLimit{k_nr_open, k_unlimited}));
}

TEST(DescriptorTarget, RaisesTheHardLimitOnlyWhenAllowedAndOnlyToNrOpen) {
    EXPECT_EQ(descriptor_target(50'064, {1024, 20'000}, k_nr_open, true), (DescriptorLimit{50'064, 50'064}));
    EXPECT_EQ(descriptor_target(50'064, {1024, 20'000}, k_nr_open, false), (DescriptorLimit{20'000, 20'000}));
    EXPECT_EQ(descriptor_target(50'064, {1024, 20'000}, 40'000, true), (DescriptorLimit{40'000, 40'000}));
    // Never lowered: a soft limit above what nr_open now says stays.
    EXPECT_EQ(descriptor_target(90'000, {60'000, 60'000}, 40'000, true), (DescriptorLimit{60'000, 60'000}));
}

TEST(DescriptorProblem, NamesTheCommandForEachCeiling) {
    EXPECT_FALSE(descriptor_problem(1000, 5064, {20'000, 20'000}, k_nr_open));
    const auto soft_only = descriptor_problem(1000, 5064, {1024, 20'000}, k_nr_open);
    EXPECT_TRUE(contains(soft_only, "`ulimit -n 5064`")) << soft_only.value_or("");
    const auto hard = descriptor_problem(10'000, 50'064, {20'000, 20'000}, k_nr_open);
    EXPECT_TRUE(contains(hard, "`ulimit -Hn 50064 && ulimit -n 50064` as root")) << hard.value_or("");
    EXPECT_TRUE(contains(hard, "limit is 20000 (hard limit 20000)"));
    const auto kernel = descriptor_problem(400'000, 2'000'064, {20'000, 20'000}, k_nr_open);
    EXPECT_TRUE(contains(kernel, "`sysctl -w fs.nr_open=2000064`")) << kernel.value_or("");
}

TEST(PortProblem, TcpNeedsOnePortPerConnection) {
    const PortRange linux_default{32768, 60999};
    EXPECT_FALSE(port_problem(10'000, /*tcp_transport=*/true, linux_default));
    const auto many = port_problem(30'000, true, linux_default);
    EXPECT_TRUE(contains(many, "30000 local TCP ports")) << many.value_or("");
    EXPECT_TRUE(contains(many, "has 28232 ports"));
    EXPECT_TRUE(contains(many, "`sysctl -w net.ipv4.ip_local_port_range=\"35536 65535\"`"));
}

TEST(PortProblem, UdpSaysWhenOnlyASingleTrackStreamFits) {
    const PortRange linux_default{32768, 60999};
    EXPECT_FALSE(port_problem(7000, /*tcp_transport=*/false, linux_default));  // 28,000 ports
    const auto av_only = port_problem(10'000, false, linux_default);
    EXPECT_TRUE(contains(av_only, "40000 local UDP ports")) << av_only.value_or("");
    EXPECT_TRUE(contains(av_only, "single-track stream only"));
    EXPECT_TRUE(contains(av_only, "ip_local_port_range=\"25536 65535\""));
    const auto none = port_problem(20'000, false, linux_default);
    EXPECT_TRUE(contains(none, "40000 local UDP ports even for a single-track stream")) << none.value_or("");
    const auto impossible = port_problem(100'000, false, linux_default);
    EXPECT_TRUE(contains(impossible, "no range is that wide")) << impossible.value_or("");
}

TEST(PortRangeText, ParsesTheProcFormat) {
    const auto range = parse_port_range("32768\t60999\n");
    ASSERT_TRUE(range);
    EXPECT_EQ(range->first, 32768u);
    EXPECT_EQ(range->last, 60999u);
    EXPECT_EQ(range->size(), 28232u);
    EXPECT_TRUE(parse_port_range("1024 65535"));
    EXPECT_FALSE(parse_port_range("60999\t32768\n"));
    EXPECT_FALSE(parse_port_range("32768"));
    EXPECT_FALSE(parse_port_range(""));
    EXPECT_FALSE(parse_port_range("1024 70000"));
    EXPECT_FALSE(parse_port_range("-1 5"));
}

TEST(PrepareLimits, OnePlayerFitsAnyUsableSystem) {
    const auto check = prepare_limits(1, false);
    EXPECT_TRUE(check.problems.empty()) << check.problems.front();
}

}  // namespace
}  // namespace sg::loadtest
