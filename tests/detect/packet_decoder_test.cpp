#include "detect/packet_decoder.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "synthetic_capture.hpp"

namespace sg::detect {
namespace {

const std::vector<std::uint8_t> k_payload{0x80, 0x60, 0x00, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 9};

std::vector<std::uint8_t> udp_frame(bool v6, bool vlan = false) {
    std::vector<std::uint8_t> out;
    const auto src = v6 ? synth::ipv6(1, 2) : synth::ipv4(192, 0, 2, 1);
    const auto dst = v6 ? synth::ipv6(3, 4) : synth::ipv4(198, 51, 100, 7);
    synth::build_udp_frame(out, src, dst, 5004, 6006, k_payload, vlan);
    return out;
}

void expect_udp(const DecodedPacket& p, std::uint8_t family) {
    EXPECT_EQ(p.protocol, k_ip_proto_udp);
    EXPECT_EQ(p.src.family, family);
    EXPECT_EQ(p.src_port, 5004);
    EXPECT_EQ(p.dst_port, 6006);
    EXPECT_EQ(std::vector<std::uint8_t>(p.payload.begin(), p.payload.end()), k_payload);
}

// The same IP packet behind another link layer: `header` replaces the 14-octet Ethernet header.
std::vector<std::uint8_t> relink(const std::vector<std::uint8_t>& ethernet,
                                 const std::vector<std::uint8_t>& header) {
    std::vector<std::uint8_t> out = header;
    out.insert(out.end(), ethernet.begin() + 14, ethernet.end());
    return out;
}

TEST(PacketDecoder, EthernetIpv4AndIpv6) {
    for (const bool v6 : {false, true}) {
        const auto frame = udp_frame(v6);
        DecodedPacket p;
        ASSERT_EQ(decode_frame(dlt::en10mb, frame, p), DecodeStatus::ok);
        expect_udp(p, v6 ? 6 : 4);
    }
}

TEST(PacketDecoder, VlanTagsAreSkipped) {
    const auto frame = udp_frame(false, true);
    DecodedPacket p;
    ASSERT_EQ(decode_frame(dlt::en10mb, frame, p), DecodeStatus::ok);
    expect_udp(p, 4);
}

TEST(PacketDecoder, EthernetPaddingBeyondIpLengthIsIgnored) {
    auto frame = udp_frame(false);
    frame.insert(frame.end(), 6, 0);  // minimum-size frames are padded by the NIC
    DecodedPacket p;
    ASSERT_EQ(decode_frame(dlt::en10mb, frame, p), DecodeStatus::ok);
    expect_udp(p, 4);
}

// Decodes `frame` (kept alive by the caller: the payload is a view into it) and checks the UDP packet.
void expect_decodes(int link, const std::vector<std::uint8_t>& frame, std::uint8_t family) {
    DecodedPacket p;
    ASSERT_EQ(decode_frame(link, frame, p), DecodeStatus::ok) << link;
    expect_udp(p, family);
}

TEST(PacketDecoder, OtherLinkLayers) {
    const auto v4 = udp_frame(false);
    const auto v6 = udp_frame(true);
    // Linux cooked v1: 16 octets, protocol last.
    std::vector<std::uint8_t> sll(16, 0);
    sll[14] = 0x08;
    expect_decodes(dlt::linux_sll, relink(v4, sll), 4);
    // Linux cooked v2: 20 octets, protocol first.
    std::vector<std::uint8_t> sll2(20, 0);
    sll2[0] = 0x86;
    sll2[1] = 0xdd;
    expect_decodes(dlt::linux_sll2, relink(v6, sll2), 6);
    // Raw IP, both families, under each raw number.
    for (const int link : {dlt::raw, dlt::linktype_raw, dlt::raw_openbsd}) {
        expect_decodes(link, relink(v4, {}), 4);
        expect_decodes(link, relink(v6, {}), 6);
    }
    expect_decodes(dlt::ipv4, relink(v4, {}), 4);
    expect_decodes(dlt::ipv6, relink(v6, {}), 6);
    // BSD loopback: host order (little-endian here) and network order.
    expect_decodes(dlt::null, relink(v4, {2, 0, 0, 0}), 4);
    expect_decodes(dlt::loop, relink(v6, {0, 0, 0, 30}), 6);
    DecodedPacket p;
    EXPECT_EQ(decode_frame(dlt::null, relink(v4, {7, 0, 0, 0}), p), DecodeStatus::not_ip);
    EXPECT_EQ(decode_frame(9999, v4, p), DecodeStatus::not_ip);
}

TEST(PacketDecoder, Ipv4FragmentsAreReported) {
    auto frame = udp_frame(false);
    frame[14 + 6] = 0x20;  // more fragments
    DecodedPacket p;
    EXPECT_EQ(decode_frame(dlt::en10mb, frame, p), DecodeStatus::fragment);
    frame[14 + 6] = 0x00;
    frame[14 + 7] = 0x10;  // offset 16 * 8
    EXPECT_EQ(decode_frame(dlt::en10mb, frame, p), DecodeStatus::fragment);
}

TEST(PacketDecoder, Ipv4OptionsAreSkipped) {
    auto frame = udp_frame(false);
    // IHL 6: insert 4 octets of options (NOPs) and grow the total length.
    frame[14] = 0x46;
    frame.insert(frame.begin() + 14 + 20, {1, 1, 1, 1});
    const std::uint16_t total = load_be16(frame.data() + 16) + 4;
    frame[16] = static_cast<std::uint8_t>(total >> 8);
    frame[17] = static_cast<std::uint8_t>(total);
    DecodedPacket p;
    ASSERT_EQ(decode_frame(dlt::en10mb, frame, p), DecodeStatus::ok);
    expect_udp(p, 4);
}

TEST(PacketDecoder, Ipv6ExtensionHeadersAndFragments) {
    auto frame = udp_frame(true);
    // Insert an 8-octet hop-by-hop header: next header moves into it.
    const std::size_t ip = 14;
    const std::uint8_t next = frame[ip + 6];
    frame[ip + 6] = 0;
    frame.insert(frame.begin() + ip + 40, {next, 0, 1, 4, 0, 0, 0, 0});
    const std::uint16_t length = load_be16(frame.data() + ip + 4) + 8;
    frame[ip + 4] = static_cast<std::uint8_t>(length >> 8);
    frame[ip + 5] = static_cast<std::uint8_t>(length);
    DecodedPacket p;
    ASSERT_EQ(decode_frame(dlt::en10mb, frame, p), DecodeStatus::ok);
    expect_udp(p, 6);
    // Turn it into a fragment header with a non-zero offset.
    frame[ip + 6] = 44;
    frame[ip + 40 + 2] = 0x01;
    EXPECT_EQ(decode_frame(dlt::en10mb, frame, p), DecodeStatus::fragment);
    // An atomic fragment (offset 0, M clear) is a whole packet.
    frame[ip + 40 + 2] = 0;
    frame[ip + 40 + 3] = 0;
    ASSERT_EQ(decode_frame(dlt::en10mb, frame, p), DecodeStatus::ok);
    expect_udp(p, 6);
}

TEST(PacketDecoder, EveryTruncationIsReportedNeverOverread) {
    for (const bool v6 : {false, true}) {
        const auto frame = udp_frame(v6);
        for (std::size_t n = 0; n < frame.size(); ++n) {
            // A heap copy of exactly n octets, so AddressSanitizer sees any read past the end.
            const std::vector<std::uint8_t> cut(frame.begin(),
                                                frame.begin() + static_cast<std::ptrdiff_t>(n));
            DecodedPacket p;
            const auto status = decode_frame(dlt::en10mb, cut, p);
            EXPECT_NE(status, DecodeStatus::ok) << n;
        }
    }
}

TEST(PacketDecoder, MalformedHeaders) {
    auto frame = udp_frame(false);
    DecodedPacket p;
    auto bad = frame;
    bad[14] = 0x44;  // IHL 4 < 5
    EXPECT_EQ(decode_frame(dlt::en10mb, bad, p), DecodeStatus::malformed);
    bad = frame;
    bad[14 + 20 + 4] = 0;
    bad[14 + 20 + 5] = 4;  // UDP length < 8
    EXPECT_EQ(decode_frame(dlt::en10mb, bad, p), DecodeStatus::malformed);
    bad = frame;
    bad[14 + 9] = 1;  // ICMP
    EXPECT_EQ(decode_frame(dlt::en10mb, bad, p), DecodeStatus::other_transport);
}

TEST(PacketDecoder, TcpSegment) {
    std::vector<std::uint8_t> frame;
    const std::vector<std::uint8_t> data{'O', 'K'};
    synth::build_tcp_frame(frame, synth::ipv4(10, 0, 0, 1), synth::ipv4(10, 0, 0, 2), 40000, 554, 1234,
                           k_tcp_syn, data);
    DecodedPacket p;
    ASSERT_EQ(decode_frame(dlt::en10mb, frame, p), DecodeStatus::ok);
    EXPECT_EQ(p.protocol, k_ip_proto_tcp);
    EXPECT_EQ(p.tcp_seq, 1234u);
    EXPECT_TRUE((p.tcp_flags & k_tcp_syn) != 0);
    EXPECT_EQ(p.payload.size(), 2u);
}

TEST(PacketDecoder, AddressText) {
    EXPECT_EQ(to_string(synth::ipv4(192, 0, 2, 33)), "192.0.2.33");
    EXPECT_EQ(to_string(synth::ipv6(1, 2)), "fd00:1::2");
    IpAddress zero;
    zero.family = 6;
    EXPECT_EQ(to_string(zero), "::");
    IpAddress one = zero;
    one.bytes[15] = 1;
    EXPECT_EQ(to_string(one), "::1");
}

}  // namespace
}  // namespace sg::detect
