// Multicast groups of serve: ranges parsed strictly, one group address and port block per lease, the
// lowest free first, nothing shared while leased, everything reusable once released.
#include "multicast/allocator.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace sg::multicast {
namespace {

MulticastSettings settings(const char* v4, const char* v6, std::uint16_t first, std::uint16_t last) {
    MulticastSettings s;
    if (v4 != nullptr) s.v4 = *MulticastRange::parse(v4);
    if (v6 != nullptr) s.v6 = *MulticastRange::parse(v6);
    s.port_first = first;
    s.port_last = last;
    return s;
}

TEST(MulticastRange, ParsesMulticastPrefixes) {
    struct Case {
        const char* text;
        bool ok;
    };
    const Case cases[] = {
        {"239.255.42.0/24", true},  {"ff15::/64", true},        {"239.255.42.7", true},
        {"224.0.0.0/4", true},      {"ff00::/8", true},         {"10.0.0.0/8", false},
        {"2001:db8::/32", false},   {"239.255.42.1/24", false}, {"224.0.0.0/3", false},
        {"239.255.42.0/33", false}, {"239.255.42.0/", false},   {"239.255.42.0/x", false},
        {"nonsense", false},        {"ff15::1/64", false},      {"", false},
    };
    for (const auto& c : cases)
        EXPECT_EQ(MulticastRange::parse(c.text).ok(), c.ok) << c.text;
    const auto range = MulticastRange::parse("ff15::42:0/112");
    ASSERT_TRUE(range);
    EXPECT_EQ(range->to_string(), "ff15::42:0/112");
}

TEST(MulticastRange, AddressAtCarriesAcrossBytes) {
    const auto v4 = *MulticastRange::parse("239.255.42.0/23");
    EXPECT_EQ(address_at(v4, 1).to_string(), "239.255.42.1");
    EXPECT_EQ(address_at(v4, 256).to_string(), "239.255.43.0");
    const auto v6 = *MulticastRange::parse("ff15::/64");
    EXPECT_EQ(address_at(v6, 1).to_string(), "ff15::1");
    EXPECT_EQ(address_at(v6, 0x1ff).to_string(), "ff15::1ff");
    EXPECT_EQ(address_at(v6, 0x10000).to_string(), "ff15::1:0");
}

TEST(MulticastAllocator, ClosedWithoutARange) {
    MulticastAllocator allocator(MulticastSettings{});
    EXPECT_FALSE(allocator.settings().enabled_for(false));
    EXPECT_FALSE(allocator.settings().enabled_for(true));
    EXPECT_FALSE(allocator.allocate(false, 1));
    EXPECT_FALSE(allocator.allocate(true, 1));
}

TEST(MulticastAllocator, FamiliesHaveTheirOwnRange) {
    MulticastAllocator allocator(settings("239.255.42.0/24", nullptr, 30000, 30999));
    EXPECT_TRUE(allocator.settings().enabled_for(false));
    EXPECT_FALSE(allocator.settings().enabled_for(true));
    EXPECT_FALSE(allocator.allocate(true, 1));
    const auto lease = allocator.allocate(false, 2);
    ASSERT_TRUE(lease);
    EXPECT_EQ(lease->group.to_string(), "239.255.42.1");  // never the all-zero host part
    EXPECT_EQ(lease->port_first, 30000);
    EXPECT_EQ(lease->port_count, 4);

    MulticastAllocator both(settings("239.255.42.0/24", "ff15::/64", 30000, 30999));
    const auto v6 = both.allocate(true, 1);
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->group.to_string(), "ff15::1");
}

TEST(MulticastAllocator, LeasesAreDistinctAndPortBlocksDoNotOverlap) {
    MulticastAllocator allocator(settings("239.255.42.0/29", "ff15::/120", 30001, 30099));
    std::set<std::string> groups;
    std::set<std::uint16_t> ports;
    for (int i = 0; i < 6; ++i) {
        const auto lease = allocator.allocate(i % 2 == 1, 1 + i % 3);
        ASSERT_TRUE(lease) << i;
        EXPECT_TRUE(groups.insert(lease->group.to_string()).second);
        EXPECT_EQ(lease->port_first % 2, 0);  // RTP even (30001 rounds up)
        EXPECT_GE(lease->port_first, 30002);
        EXPECT_EQ(lease->port_count, 2 * (1 + i % 3));
        for (std::uint16_t p = lease->port_first; p < lease->port_first + lease->port_count; ++p)
            EXPECT_TRUE(ports.insert(p).second) << "port " << p << " in two groups";
    }
    EXPECT_EQ(allocator.leases(), 6U);
}

TEST(MulticastAllocator, RunsOutOfAddressesThenReusesReleasedOnes) {
    MulticastAllocator allocator(settings("239.255.42.0/30", nullptr, 30000, 30999));  // offsets 1..3
    const auto a = allocator.allocate(false, 1);
    const auto b = allocator.allocate(false, 1);
    const auto c = allocator.allocate(false, 1);
    ASSERT_TRUE(a && b && c);
    EXPECT_EQ(c->group.to_string(), "239.255.42.3");
    EXPECT_FALSE(allocator.allocate(false, 1));
    allocator.release(*b);
    const auto again = allocator.allocate(false, 1);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->group, b->group);  // the lowest free address
    EXPECT_EQ(again->port_first, b->port_first);
}

TEST(MulticastAllocator, RunsOutOfPortsThenFitsIntoAFreedGap) {
    MulticastAllocator allocator(settings("239.255.42.0/24", nullptr, 30000, 30007));  // 8 ports
    const auto a = allocator.allocate(false, 1);                                       // 30000-30001
    const auto b = allocator.allocate(false, 2);                                       // 30002-30005
    const auto c = allocator.allocate(false, 1);                                       // 30006-30007
    ASSERT_TRUE(a && b && c);
    EXPECT_EQ(b->port_first, 30002);
    EXPECT_EQ(c->port_first, 30006);
    EXPECT_FALSE(allocator.allocate(false, 1));
    allocator.release(*b);
    EXPECT_FALSE(allocator.allocate(false, 3));  // 6 ports do not fit in the 4-port gap
    const auto d = allocator.allocate(false, 2);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->port_first, 30002);
    EXPECT_EQ(allocator.leases(), 3U);
}

TEST(MulticastRange, ContainsItsOwnAddressesOnly) {
    const auto v4 = MulticastRange::parse("239.255.42.0/24").value();
    EXPECT_TRUE(v4.contains(asio::ip::make_address("239.255.42.0")));
    EXPECT_TRUE(v4.contains(asio::ip::make_address("239.255.42.255")));
    EXPECT_FALSE(v4.contains(asio::ip::make_address("239.255.43.1")));
    EXPECT_FALSE(v4.contains(asio::ip::make_address("ff15::1")));
    const auto v6 = MulticastRange::parse("ff15::42:0/112").value();
    EXPECT_TRUE(v6.contains(asio::ip::make_address("ff15::42:ffff")));
    EXPECT_FALSE(v6.contains(asio::ip::make_address("ff15::43:0")));
    EXPECT_FALSE(v6.contains(asio::ip::make_address("239.255.42.1")));
}

}  // namespace
}  // namespace sg::multicast
