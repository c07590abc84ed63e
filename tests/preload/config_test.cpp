// The pure parts of the socksify library: environment parsing, CIDR matching, sockaddr conversion.

#include "preload/config.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>

namespace sg::preload {
namespace {

IpAddress ip(const char* text) {
    const auto parsed = parse_ip(text);
    EXPECT_TRUE(parsed.ok()) << text;
    return parsed.ok() ? *parsed : IpAddress{};
}

TEST(PreloadConfig, ParsesProxyEndpointsOfBothFamilies) {
    const auto v4 = parse_ip_endpoint("192.0.2.7:1080");
    ASSERT_TRUE(v4.ok());
    EXPECT_EQ(v4->address, ip("192.0.2.7"));
    EXPECT_EQ(v4->port, 1080);
    const auto v6 = parse_ip_endpoint("[2001:db8::1]:443");
    ASSERT_TRUE(v6.ok());
    EXPECT_EQ(v6->address.family, AF_INET6);
    EXPECT_EQ(v6->port, 443);
}

TEST(PreloadConfig, RejectsMalformedProxies) {
    for (const char* bad : {"", "1080", "gw.test:1080", "2001:db8::1:1080", "[192.0.2.1]:1080", "192.0.2.1:0",
                            "192.0.2.1:65536", "[2001:db8::1]", "[2001:db8::1]1080", "192.0.2.1:x"}) {
        EXPECT_FALSE(parse_ip_endpoint(bad).ok()) << bad;
    }
}

TEST(PreloadConfig, NetworksMatchByPrefix) {
    const auto net = parse_network("10.1.0.0/17");
    ASSERT_TRUE(net.ok());
    EXPECT_TRUE(net->contains(ip("10.1.127.255")));
    EXPECT_FALSE(net->contains(ip("10.1.128.0")));
    EXPECT_FALSE(net->contains(ip("::ffff:10.1.0.1")));  // families never match each other
    const auto v6 = parse_network("2001:db8:80::/41");
    ASSERT_TRUE(v6.ok());
    EXPECT_TRUE(v6->contains(ip("2001:db8:80::1")));
    EXPECT_FALSE(v6->contains(ip("2001:db8:0::1")));
    const auto host = parse_network("192.0.2.9");
    ASSERT_TRUE(host.ok());
    EXPECT_EQ(host->prefix_length, 32U);
    EXPECT_TRUE(parse_network("0.0.0.0/0")->contains(ip("203.0.113.1")));
}

TEST(PreloadConfig, RejectsBadNetworks) {
    for (const char* bad : {"10.0.0.1/8", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/x", "host/8"})
        EXPECT_FALSE(parse_network(bad).ok()) << bad;
}

TEST(PreloadConfig, EnvironmentDefaultsToLoopbackProxyAndLoopbackDirect) {
    const auto config = config_from_environment(nullptr, nullptr, nullptr);
    EXPECT_TRUE(config.error.empty());
    EXPECT_EQ(config.proxy.address, ip("127.0.0.1"));
    EXPECT_EQ(config.proxy.port, 1080);
    EXPECT_TRUE(config.username.empty());
    EXPECT_TRUE(is_direct(config, ip("127.9.9.9")));
    EXPECT_TRUE(is_direct(config, ip("::1")));
    EXPECT_FALSE(is_direct(config, ip("192.0.2.1")));
    EXPECT_FALSE(is_direct(config, ip("::2")));
}

TEST(PreloadConfig, EnvironmentAddsDirectNetworksAndCredentials) {
    const auto config =
        config_from_environment("[2001:db8::53]:1081", "alice:s3:cret", " 192.0.2.0/24 ,, 2001:db8::/32");
    EXPECT_TRUE(config.error.empty()) << config.error;
    EXPECT_EQ(config.proxy.address.family, AF_INET6);
    EXPECT_EQ(config.proxy.port, 1081);
    EXPECT_EQ(config.username, "alice");
    EXPECT_EQ(config.password, "s3:cret");  // only the first colon separates
    EXPECT_TRUE(is_direct(config, ip("192.0.2.200")));
    EXPECT_TRUE(is_direct(config, ip("2001:db8:1::1")));
    EXPECT_FALSE(is_direct(config, ip("198.51.100.1")));
}

TEST(PreloadConfig, EnvironmentErrorsAreReported) {
    EXPECT_NE(config_from_environment("gw.test:1080", nullptr, nullptr).error, "");
    EXPECT_NE(config_from_environment(nullptr, "nocolon", nullptr).error, "");
    EXPECT_NE(config_from_environment(nullptr, ":pw", nullptr).error, "");
    const auto config = config_from_environment(nullptr, nullptr, "10.0.0.0/8,bogus");
    EXPECT_NE(config.error.find("bogus"), std::string::npos);
    EXPECT_TRUE(is_direct(config, ip("10.2.3.4")));  // the good entries still count
}

TEST(PreloadConfig, SockaddrConversionUnmapsAndMaps) {
    sockaddr_in6 mapped{};
    mapped.sin6_family = AF_INET6;
    mapped.sin6_port = htons(554);
    ASSERT_EQ(inet_pton(AF_INET6, "::ffff:198.51.100.4", &mapped.sin6_addr), 1);
    const auto endpoint = from_sockaddr(reinterpret_cast<const sockaddr*>(&mapped), sizeof mapped);
    ASSERT_TRUE(endpoint.has_value());
    EXPECT_EQ(endpoint->address, ip("198.51.100.4"));
    EXPECT_EQ(endpoint->port, 554);

    sockaddr_storage out{};
    ASSERT_EQ(to_sockaddr(*endpoint, AF_INET6, out), sizeof(sockaddr_in6));
    EXPECT_EQ(std::memcmp(&out, &mapped, sizeof mapped), 0);
    ASSERT_EQ(to_sockaddr(*endpoint, AF_INET, out), sizeof(sockaddr_in));
    EXPECT_EQ(to_sockaddr(IpEndpoint{ip("2001:db8::1"), 1}, AF_INET, out), 0U);  // not expressible

    sockaddr_in short_one{};
    short_one.sin_family = AF_INET;
    EXPECT_FALSE(
        from_sockaddr(reinterpret_cast<const sockaddr*>(&short_one), sizeof short_one - 1).has_value());
    EXPECT_FALSE(from_sockaddr(nullptr, 0).has_value());
}

}  // namespace
}  // namespace sg::preload
