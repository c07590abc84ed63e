#include "relay/nft_ruleset.hpp"

#include <gtest/gtest.h>

#include "relay/address.hpp"

namespace sg::relay::nft {
namespace {

KernelFlow flow_v4() {
    KernelFlow flow;
    flow.socket_id = 7;
    flow.source = *parse_ip("198.51.100.7", 61000);
    flow.local = *parse_ip("203.0.113.1", 30000);
    flow.out_local = *parse_ip("203.0.113.1", 30002);
    flow.destination = *parse_ip("192.0.2.20", 62000);
    return flow;
}

TEST(NftRuleset, MarksCarryTheShardAndStayInTheRelaysTag) {
    EXPECT_EQ(flow_mark(0, 1), 0x50000001U);
    EXPECT_EQ(flow_mark(3, 0xabcde), 0x503abcdeU);
    EXPECT_EQ(flow_mark(255, k_max_flows_per_shard), 0x5fffffffU);
    EXPECT_EQ(flow_mark(1, k_max_flows_per_shard + 2), 0x50100001U) << "an index never spills into the shard";
}

TEST(NftRuleset, TheTableHasMapsAndRulesForEveryShard) {
    const std::string table = create_table(table_name(0), 2);
    EXPECT_EQ(table.rfind("add table inet streamgate_0\ndelete table inet streamgate_0\n", 0), 0U);
    for (const char* piece : {"map flow4_0 {", "map flow6_1 {", "map fromport_1 {", "@flow4_1 notrack",
                              "meta mark & 0xfff00000 == 0x50100000 meta nfproto ipv6 ip6 saddr set"})
        EXPECT_NE(table.find(piece), std::string::npos) << piece;
    EXPECT_EQ(table.find("{S}"), std::string::npos);
    EXPECT_EQ(table.find("_2"), std::string::npos);
}

TEST(NftRuleset, AFlowIsFiveElementsAddedAndDeletedLookupFirst) {
    const std::string add = add_flow("streamgate_0", 1, 0x50100005, flow_v4());
    EXPECT_EQ(add,
              "add element inet streamgate_0 to4_1 { 0x50100005 : 192.0.2.20 }\n"
              "add element inet streamgate_0 toport_1 { 0x50100005 : 62000 }\n"
              "add element inet streamgate_0 from4_1 { 0x50100005 : 203.0.113.1 }\n"
              "add element inet streamgate_0 fromport_1 { 0x50100005 : 30002 }\n"
              "add element inet streamgate_0 flow4_1 { 198.51.100.7 . 61000 . 203.0.113.1 . 30000 : "
              "0x50100005 }\n");
    const std::string del = delete_flow("streamgate_0", 1, 0x50100005, flow_v4());
    EXPECT_EQ(del.rfind("delete element inet streamgate_0 flow4_1 { 198.51.100.7 . 61000 . 203.0.113.1 . "
                        "30000 }\n",
                        0),
              0U);
    KernelFlow v6 = flow_v4();
    v6.source = *parse_ip("2001:db8::7", 4000);
    v6.local = *parse_ip("2001:db8::1", 30000);
    v6.out_local = *parse_ip("2001:db8::1", 30002);
    v6.destination = *parse_ip("2001:db8::20", 5000);
    EXPECT_NE(add_flow("streamgate_0", 0, 0x50000001, v6)
                  .find("flow6_0 { 2001:db8::7 . 4000 . 2001:db8::1 . 30000"),
              std::string::npos);
}

TEST(NftRuleset, CountersAreReadFromNftsListing) {
    const std::string listing =
        "table inet streamgate_0 {\n\tmap flow4_0 {\n\t\ttype ipv4_addr . inet_service . ipv4_addr . "
        "inet_service : mark\n\t\tcounter\n\t\telements = { 10.1.0.2 . 5000 . 10.1.0.1 . 6000 counter "
        "packets 12 bytes 2064 : 0x50000002,\n\t\t\t     127.0.0.1 . 5 . 127.0.0.1 . 6 counter packets 0 "
        "bytes 0 : 0x50000003 }\n\t}\n}\n"
        "table inet streamgate_0 {\n\tmap flow6_0 {\n\t\telements = { ::1 . 1 . ::1 . 2 counter packets "
        "18446744073709551615 bytes 7 : 0x500fffff }\n\t}\n}\n";
    const auto counts = parse_counters(listing);
    ASSERT_EQ(counts.size(), 3U);
    EXPECT_EQ(counts[0].mark, 0x50000002U);
    EXPECT_EQ(counts[0].packets, 12U);
    EXPECT_EQ(counts[0].bytes, 2064U);
    EXPECT_EQ(counts[1].mark, 0x50000003U);
    EXPECT_EQ(counts[1].packets, 0U);
    EXPECT_EQ(counts[2].packets, 18446744073709551615ULL);
    EXPECT_EQ(counts[2].mark, 0x500fffffU);
    EXPECT_TRUE(parse_counters("counter packets x bytes 1 : 0x5").empty());
    EXPECT_TRUE(parse_counters("counter packets 1 bytes 1 : 0x1ffffffff").empty());
    EXPECT_TRUE(parse_counters("").empty());
}

}  // namespace
}  // namespace sg::relay::nft
