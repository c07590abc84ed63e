#include "relay/packet_headers.hpp"

#include <gtest/gtest.h>

#include "relay/address.hpp"

namespace sg::relay {
namespace {

// The ones' complement sum of a checksummed region is 0xffff (RFC 1071).
std::uint16_t folded_sum(Bytes bytes, std::uint32_t sum = 0) {
    for (std::size_t i = 0; i + 1 < bytes.size(); i += 2)
        sum += load_be16(bytes.data() + i);
    if (bytes.size() % 2 != 0) sum += static_cast<std::uint32_t>(bytes.back()) << 8U;
    while ((sum >> 16U) != 0)
        sum = (sum & 0xffffU) + (sum >> 16U);
    return static_cast<std::uint16_t>(sum);
}

TEST(PacketHeaders, Ipv4HeaderAndUdpChecksumsVerify) {
    const std::vector<std::uint8_t> payload = {0x80, 0x08, 0x00, 0x01, 0xaa, 0xbb, 0xcc};
    std::vector<std::uint8_t> out;
    ASSERT_TRUE(append_ip_udp_headers(out, *parse_ip("198.51.100.7", 61000), *parse_ip("203.0.113.1", 30000),
                                      payload));
    ASSERT_EQ(out.size(), 28U);
    EXPECT_EQ(out[0], 0x45);
    EXPECT_EQ(load_be16(out.data() + 2), 28 + payload.size());
    EXPECT_EQ(folded_sum(Bytes(out.data(), 20)), 0xffff);
    // UDP: pseudo header (addresses, protocol, length) + header + payload.
    std::uint32_t pseudo = folded_sum(Bytes(out.data() + 12, 8));
    pseudo += 17 + load_be16(out.data() + 24);
    std::vector<std::uint8_t> udp(out.begin() + 20, out.end());
    udp.insert(udp.end(), payload.begin(), payload.end());
    EXPECT_EQ(folded_sum(udp, pseudo), 0xffff);
    EXPECT_EQ(load_be16(out.data() + 20), 61000);
    EXPECT_EQ(load_be16(out.data() + 22), 30000);
}

TEST(PacketHeaders, Ipv6HasFortyByteHeader) {
    const std::vector<std::uint8_t> payload(160, 0x55);
    std::vector<std::uint8_t> out;
    ASSERT_TRUE(
        append_ip_udp_headers(out, *parse_ip("fd00::5", 4000), *parse_ip("2001:db8::1", 30002), payload));
    ASSERT_EQ(out.size(), 48U);
    EXPECT_EQ(out[0] >> 4U, 6);
    EXPECT_EQ(load_be16(out.data() + 4), 168);
    EXPECT_EQ(out[6], 17);
}

TEST(PacketHeaders, RefusesMixedFamilies) {
    std::vector<std::uint8_t> out;
    EXPECT_FALSE(append_ip_udp_headers(out, *parse_ip("fd00::5", 4000), *parse_ip("203.0.113.1", 1), {}));
    EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace sg::relay
