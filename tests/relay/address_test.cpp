#include "relay/address.hpp"

#include <gtest/gtest.h>

namespace sg::relay {
namespace {

TEST(RelayAddress, ParsesBothFamiliesAndPrintsThemBack) {
    auto v4 = parse_ip("192.0.2.7", 4000);
    ASSERT_TRUE(v4);
    EXPECT_EQ(v4->family, Family::ip4);
    EXPECT_EQ(to_string(*v4), "192.0.2.7:4000");
    auto v6 = parse_ip("2001:db8::1", 5);
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->family, Family::ip6);
    EXPECT_EQ(to_string(*v6), "[2001:db8::1]:5");
    EXPECT_EQ(ip_to_string(*v6), "2001:db8::1");
}

TEST(RelayAddress, RefusesNamesBracketsAndOverlongText) {
    EXPECT_FALSE(parse_ip("example.com"));
    EXPECT_FALSE(parse_ip("[::1]"));
    EXPECT_FALSE(parse_ip(""));
    EXPECT_FALSE(parse_ip(std::string(200, '1')));
}

TEST(RelayAddress, FamiliesAndTheHoldAddress) {
    EXPECT_EQ(parse_family("ip6"), Family::ip6);
    EXPECT_FALSE(parse_family("IP5"));
    EXPECT_EQ(family_name(Family::ip4), "IP4");
    EXPECT_TRUE(is_unspecified_ip(*parse_ip("0.0.0.0")));
    EXPECT_TRUE(is_unspecified_ip(*parse_ip("::")));
    EXPECT_FALSE(is_unspecified_ip(*parse_ip("10.0.0.1")));
}

}  // namespace
}  // namespace sg::relay
