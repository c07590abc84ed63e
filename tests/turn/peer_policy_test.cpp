#include "turn/peer_policy.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

namespace sg::turn {
namespace {

stun::Address addr(const char* text) {
    stun::Address a;
    if (inet_pton(AF_INET, text, a.ip.data()) == 1) {
        a.family = stun::Family::ipv4;
    } else {
        EXPECT_EQ(inet_pton(AF_INET6, text, a.ip.data()), 1) << text;
        a.family = stun::Family::ipv6;
    }
    a.port = 9;
    return a;
}

TEST(PeerPolicy, DeniesInternalAddressesByDefault) {
    const PeerPolicy policy;
    for (const char* denied :
         {"127.0.0.1", "127.1.2.3", "::1", "0.0.0.0", "::", "169.254.1.1", "fe80::1", "224.0.0.1",
          "255.255.255.255", "ff02::1", "::ffff:127.0.0.1", "::ffff:169.254.0.1"})
        EXPECT_FALSE(policy.allowed(addr(denied))) << denied;
    for (const char* allowed : {"198.18.0.1", "192.0.2.7", "2001:db8::1", "::ffff:198.18.0.1"})
        EXPECT_TRUE(policy.allowed(addr(allowed))) << allowed;
}

TEST(PeerPolicy, AllowLoopbackLiftsOnlyLoopback) {
    PeerPolicy policy;
    policy.allow_loopback = true;
    EXPECT_TRUE(policy.allowed(addr("127.0.0.1")));
    EXPECT_TRUE(policy.allowed(addr("::1")));
    EXPECT_FALSE(policy.allowed(addr("0.0.0.0")));
    EXPECT_FALSE(policy.allowed(addr("fe80::1")));
    policy.denied.push_back(*PeerRange::parse("127.0.0.0/8"));
    EXPECT_FALSE(policy.allowed(addr("127.0.0.1")));  // a configured range still applies
}

TEST(PeerPolicy, ConfiguredRanges) {
    PeerPolicy policy;
    policy.denied.push_back(*PeerRange::parse("10.0.0.0/8"));
    policy.denied.push_back(*PeerRange::parse("2001:db8:1::/48"));
    policy.denied.push_back(*PeerRange::parse("192.0.2.5"));
    EXPECT_FALSE(policy.allowed(addr("10.200.0.1")));
    EXPECT_FALSE(policy.allowed(addr("::ffff:10.0.0.1")));
    EXPECT_FALSE(policy.allowed(addr("2001:db8:1:ffff::1")));
    EXPECT_TRUE(policy.allowed(addr("2001:db8:2::1")));
    EXPECT_FALSE(policy.allowed(addr("192.0.2.5")));
    EXPECT_TRUE(policy.allowed(addr("192.0.2.6")));
    EXPECT_TRUE(policy.allowed(addr("11.0.0.1")));
}

TEST(PeerRange, ParseErrors) {
    EXPECT_FALSE(PeerRange::parse("10.0.0.1/8"));  // host bits
    EXPECT_FALSE(PeerRange::parse("10.0.0.0/33"));
    EXPECT_FALSE(PeerRange::parse("example.com"));
    EXPECT_FALSE(PeerRange::parse("2001:db8::/129"));
    EXPECT_FALSE(PeerRange::parse("10.0.0.0/"));
    EXPECT_TRUE(PeerRange::parse("0.0.0.0/0"));
}

}  // namespace
}  // namespace sg::turn
