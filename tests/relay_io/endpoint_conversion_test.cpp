#include "relay_io/endpoint_conversion.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

namespace sg::relay_io {
namespace {

::sockaddr_in6 v6_source(const char* text, std::uint16_t port) {
    ::sockaddr_in6 address{};
    address.sin6_family = AF_INET6;
    address.sin6_port = htons(port);
    EXPECT_EQ(::inet_pton(AF_INET6, text, &address.sin6_addr), 1);
    return address;
}

TEST(EndpointConversion, KernelIpv4SourceBecomesAnIpv4Address) {
    ::sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(40000);
    ASSERT_EQ(::inet_pton(AF_INET, "192.0.2.7", &address.sin_addr), 1);
    const auto out = to_address(reinterpret_cast<const ::sockaddr*>(&address), sizeof address);
    ASSERT_TRUE(out.has_value());
    EXPECT_EQ(*out, to_address(asio::ip::udp::endpoint(asio::ip::make_address("192.0.2.7"), 40000)));
    EXPECT_EQ(out->family, relay::Family::ip4);
}

TEST(EndpointConversion, KernelIpv6SourceKeepsItsFamilyAndAMappedOneIsUnmapped) {
    const auto v6 = v6_source("2001:db8::9", 5004);
    const auto native = to_address(reinterpret_cast<const ::sockaddr*>(&v6), sizeof v6);
    ASSERT_TRUE(native.has_value());
    EXPECT_EQ(native->family, relay::Family::ip6);
    EXPECT_EQ(native->port, 5004);

    const auto mapped = v6_source("::ffff:198.51.100.1", 5006);
    const auto unmapped = to_address(reinterpret_cast<const ::sockaddr*>(&mapped), sizeof mapped);
    ASSERT_TRUE(unmapped.has_value());
    EXPECT_EQ(*unmapped, to_address(asio::ip::udp::endpoint(asio::ip::make_address("198.51.100.1"), 5006)));
}

TEST(EndpointConversion, KernelSourceOfAnotherFamilyOrTooShortIsRefused) {
    ::sockaddr_storage storage{};
    storage.ss_family = AF_UNIX;
    EXPECT_FALSE(to_address(reinterpret_cast<const ::sockaddr*>(&storage), sizeof storage).has_value());
    storage.ss_family = AF_INET;
    EXPECT_FALSE(to_address(reinterpret_cast<const ::sockaddr*>(&storage), 4).has_value());
    // Long enough for IPv4 but not for the IPv6 structure it claims to be.
    storage.ss_family = AF_INET6;
    EXPECT_FALSE(
        to_address(reinterpret_cast<const ::sockaddr*>(&storage), sizeof(::sockaddr_in)).has_value());
    // Longer than any endpoint can hold: refused, not thrown.
    storage.ss_family = AF_INET6;
    EXPECT_FALSE(to_address(reinterpret_cast<const ::sockaddr*>(&storage), sizeof storage + 1).has_value());
}

}  // namespace
}  // namespace sg::relay_io
