#include "net/cidr.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace sg::net {
namespace {

struct MatchCase {
    std::string_view cidr;
    std::string_view address;
    bool contained;
};

TEST(Cidr, Matches) {
    const MatchCase cases[] = {
        {"198.18.0.0/15", "198.18.0.1", true},  {"198.18.0.0/15", "198.19.255.255", true},
        {"198.18.0.0/15", "198.20.0.0", false}, {"198.18.0.0/15", "::ffff:198.18.3.2", true},
        {"2001:2::/48", "2001:2:0:1::2", true}, {"2001:2::/48", "2001:2:1::1", false},
        {"2001:2::/48", "198.18.0.1", false},   {"0.0.0.0/0", "203.0.113.9", true},
        {"::/0", "2001:db8::1", true},          {"::/0", "192.0.2.1", false},
        {"127.0.0.1", "127.0.0.1", true},       {"127.0.0.1", "127.0.0.2", false},
        {"10.1.2.0/23", "10.1.3.255", true},    {"10.1.2.0/23", "10.1.4.0", false},
    };
    for (const auto& c : cases) {
        const auto cidr = Cidr::parse(c.cidr);
        ASSERT_TRUE(cidr.ok()) << c.cidr;
        EXPECT_EQ(cidr->contains(asio::ip::make_address(std::string(c.address))), c.contained)
            << c.cidr << " " << c.address;
    }
}

TEST(Cidr, RejectsBadRanges) {
    for (const auto text : {"", "/8", "10.0.0.0/33", "::/129", "10.0.0.1/8", "2001:db8::1/32", "10.0.0.0/x",
                            "example.com/8", "10.0.0.0/-1"}) {
        EXPECT_FALSE(Cidr::parse(text).ok()) << text;
    }
}

TEST(Cidr, PrintsCanonically) {
    EXPECT_EQ(Cidr::parse("2001:2:0::/48")->to_string(), "2001:2::/48");
    EXPECT_EQ(Cidr::parse("127.0.0.1")->to_string(), "127.0.0.1/32");
}

TEST(AllowListed, EmptyMeansLoopbackOnlyAndRangesOtherwise) {
    const auto v4 = asio::ip::make_address("198.18.1.2");
    const auto mapped = asio::ip::make_address("::ffff:127.0.0.1");
    EXPECT_TRUE(allow_listed({}, asio::ip::make_address("127.0.0.1")));
    EXPECT_TRUE(allow_listed({}, asio::ip::make_address("::1")));
    EXPECT_TRUE(allow_listed({}, mapped));
    EXPECT_FALSE(allow_listed({}, v4));
    const std::vector<Cidr> allow = {*Cidr::parse("198.18.0.0/15")};
    EXPECT_TRUE(allow_listed(allow, v4));
    EXPECT_FALSE(allow_listed(allow, asio::ip::make_address("127.0.0.1")));
}

}  // namespace
}  // namespace sg::net
