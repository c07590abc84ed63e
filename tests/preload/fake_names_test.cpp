// Fake address allocation (RFC 3089): stable per name, reversible, bounded, in both families.

#include "preload/fake_names.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <string>

namespace sg::preload {
namespace {

std::string text(const IpAddress& address) {
    char buffer[INET6_ADDRSTRLEN] = "";
    inet_ntop(address.family, address.bytes.data(), buffer, sizeof buffer);
    return buffer;
}

TEST(FakeNames, SameNameSameIndexIgnoringCaseAndTrailingDot) {
    FakeNames names;
    const auto a = names.intern("media.example");
    const auto b = names.intern("other.example");
    ASSERT_TRUE(a && b);
    EXPECT_NE(*a, *b);
    EXPECT_EQ(names.intern("MEDIA.Example."), a);
    EXPECT_EQ(*names.name_of(*a), "media.example");
    EXPECT_EQ(names.size(), 2U);
    EXPECT_EQ(names.name_of(0), nullptr);
    EXPECT_EQ(names.name_of(3), nullptr);
}

TEST(FakeNames, AddressesLieInTheReservedBlocksAndMapBack) {
    for (const std::uint32_t index : {1U, 2U, 255U, 256U, 65536U, (1U << 28) - 1}) {
        const auto v4 = FakeNames::address(index, AF_INET);
        const auto v6 = FakeNames::address(index, AF_INET6);
        EXPECT_EQ(v4.bytes[0] & 0xF0, 240) << text(v4);
        EXPECT_EQ(text(v6).rfind("64:ff9b:1::", 0), 0U) << text(v6);
        EXPECT_EQ(FakeNames::index_of(v4), index);
        EXPECT_EQ(FakeNames::index_of(v6), index);
    }
    EXPECT_EQ(text(FakeNames::address(1, AF_INET)), "240.0.0.1");
    EXPECT_EQ(text(FakeNames::address(0x01020304, AF_INET)), "241.2.3.4");
    EXPECT_EQ(text(FakeNames::address(0x01020304, AF_INET6)), "64:ff9b:1::102:304");
}

TEST(FakeNames, OrdinaryAddressesAreNotFake) {
    for (const char* address : {"239.255.255.255", "198.18.3.2", "127.0.0.1", "0.0.0.0"}) {
        IpAddress ip{AF_INET, {}};
        ASSERT_EQ(inet_pton(AF_INET, address, ip.bytes.data()), 1);
        EXPECT_FALSE(FakeNames::index_of(ip).has_value()) << address;
    }
    for (const char* address : {"64:ff9b::1", "64:ff9b:1:0:1::1", "2001:2:0:4::2", "::1"}) {
        IpAddress ip{AF_INET6, {}};
        ASSERT_EQ(inet_pton(AF_INET6, address, ip.bytes.data()), 1);
        EXPECT_FALSE(FakeNames::index_of(ip).has_value()) << address;
    }
    EXPECT_FALSE(FakeNames::index_of(FakeNames::address(0, AF_INET)).has_value());  // index 0 is never issued
}

TEST(FakeNames, TableIsBoundedAndRejectsUnsendableNames) {
    FakeNames names(3);
    EXPECT_TRUE(names.intern("a"));
    EXPECT_TRUE(names.intern("b"));
    EXPECT_TRUE(names.intern("c"));
    EXPECT_FALSE(names.intern("d"));  // full
    EXPECT_TRUE(names.intern("A"));   // known names still answer
    FakeNames open;
    EXPECT_FALSE(open.intern(""));
    EXPECT_FALSE(open.intern(std::string(256, 'x')));  // longer than a SOCKS5 domain
    EXPECT_TRUE(open.intern(std::string(255, 'x')));
    EXPECT_FALSE(open.intern(std::string("a\0b", 3)));
}

}  // namespace
}  // namespace sg::preload
