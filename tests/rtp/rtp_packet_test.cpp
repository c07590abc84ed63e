#include "rtp/rtp_packet.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

namespace sg::rtp {
namespace {

using Buffer = std::vector<std::uint8_t>;

// V=2 P=1 X=1 CC=2, M=1 PT=96, seq 1, ts 4096, SSRC 0x11223344, CSRCs 0x01020304 and 0x05060708,
// extension profile 0xBEDE with one word (an RFC 8285 one-byte element, id 1, value 0xAA),
// payload "hi", 3 octets of padding.
const Buffer k_full = {
    0xb2, 0xe0, 0x00, 0x01, 0x00, 0x00, 0x10, 0x00, 0x11, 0x22, 0x33, 0x44,  // fixed header
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,                          // CSRCs
    0xbe, 0xde, 0x00, 0x01, 0x10, 0xaa, 0x00, 0x00,                          // extension
    'h',  'i',                                                               // payload
    0x00, 0x00, 0x03,                                                        // padding
};

TEST(RtpPacket, ParsesMinimalHeader) {
    const Buffer packet = {0x80, 0x08, 0x12, 0x34, 0x00, 0x00, 0x00, 0xa0,
                           0xde, 0xad, 0xbe, 0xef, 0xd5, 0xd5, 0xd5};
    const auto view = parse_rtp(packet);
    ASSERT_TRUE(view.ok()) << view.error();
    EXPECT_FALSE(view->marker());
    EXPECT_EQ(view->payload_type(), 8);
    EXPECT_EQ(view->sequence(), 0x1234);
    EXPECT_EQ(view->timestamp(), 160u);
    EXPECT_EQ(view->ssrc(), 0xdeadbeefu);
    EXPECT_EQ(view->csrc_count(), 0);
    EXPECT_EQ(view->csrc(0), 0u);
    EXPECT_FALSE(view->has_extension());
    EXPECT_FALSE(view->has_padding());
    EXPECT_EQ(view->extension_profile(), 0);
    EXPECT_TRUE(view->extension_data().empty());
    EXPECT_EQ(view->header_size(), 12u);
    EXPECT_EQ(view->padding_size(), 0u);
    ASSERT_EQ(view->payload().size(), 3u);
    EXPECT_EQ(view->payload()[0], 0xd5);
    EXPECT_EQ(view->data().size(), packet.size());
}

TEST(RtpPacket, ParsesCsrcsExtensionAndPadding) {
    const auto view = parse_rtp(k_full);
    ASSERT_TRUE(view.ok()) << view.error();
    EXPECT_TRUE(view->marker());
    EXPECT_EQ(view->payload_type(), 96);
    EXPECT_EQ(view->sequence(), 1);
    EXPECT_EQ(view->timestamp(), 4096u);
    EXPECT_EQ(view->ssrc(), 0x11223344u);
    ASSERT_EQ(view->csrc_count(), 2);
    EXPECT_EQ(view->csrc(0), 0x01020304u);
    EXPECT_EQ(view->csrc(1), 0x05060708u);
    EXPECT_EQ(view->csrc(2), 0u);
    ASSERT_TRUE(view->has_extension());
    EXPECT_EQ(view->extension_profile(), 0xbede);
    EXPECT_EQ(view->extension_data().size(), 4u);
    EXPECT_EQ(view->extension_data()[1], 0xaa);
    EXPECT_EQ(view->header_size(), 28u);
    EXPECT_EQ(view->padding_size(), 3u);
    ASSERT_EQ(view->payload().size(), 2u);
    EXPECT_EQ(view->payload()[0], 'h');
    EXPECT_EQ(view->payload()[1], 'i');
}

TEST(RtpPacket, PaddingMayCoverTheWholePayload) {
    const Buffer packet = {0xa0, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0x00, 0x00, 0x00, 0x04};
    const auto view = parse_rtp(packet);
    ASSERT_TRUE(view.ok()) << view.error();
    EXPECT_TRUE(view->payload().empty());
    EXPECT_EQ(view->padding_size(), 4u);
}

TEST(RtpPacket, EmptyExtensionIsAllowed) {
    const Buffer packet = {0x90, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0x10, 0x00, 0x00, 0x00, 0x77};
    const auto view = parse_rtp(packet);
    ASSERT_TRUE(view.ok()) << view.error();
    EXPECT_EQ(view->extension_profile(), 0x1000);
    EXPECT_TRUE(view->extension_data().empty());
    EXPECT_EQ(view->header_size(), 16u);
    EXPECT_EQ(view->payload().size(), 1u);
}

struct Malformed {
    const char* name;
    Buffer packet;
};

class RtpMalformed : public ::testing::TestWithParam<Malformed> {};

TEST_P(RtpMalformed, IsRejected) {
    const auto view = parse_rtp(GetParam().packet);
    EXPECT_FALSE(view.ok());
    EXPECT_FALSE(view.error().empty());
}

INSTANTIATE_TEST_SUITE_P(
    Lengths, RtpMalformed,
    ::testing::Values(
        Malformed{"empty", {}}, Malformed{"eleven_octets", {0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0}},
        Malformed{"version0", {0x00, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}},
        Malformed{"version1", {0x40, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}},
        Malformed{"version3", {0xc0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}},
        Malformed{"csrc_count_exceeds", {0x81, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0}},
        Malformed{"csrc_count_15_empty", {0x8f, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}},
        Malformed{"extension_header_missing", {0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0}},
        Malformed{"extension_longer_than_packet",
                  {0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0, 2, 1, 2, 3, 4, 5, 6, 7}},
        Malformed{"extension_after_csrcs_truncated",
                  {0x91, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 9, 9, 9, 9, 0xbe, 0xde, 0, 1}},
        Malformed{"padding_without_room", {0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}},
        Malformed{"padding_count_zero", {0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 'x', 0x00}},
        Malformed{"padding_exceeds_payload", {0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 'x', 0x03}},
        Malformed{"padding_into_extension",
                  {0xb0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0, 1, 0, 0, 0, 0, 0x05}}),
    [](const auto& test) { return std::string(test.param.name); });

TEST(RtpPacket, EveryTruncationOfAHeaderOnlyPacketFails) {
    // CC=2 and a one-word extension, no payload: any shorter prefix cuts a header field.
    const Buffer packet(k_full.begin(), k_full.begin() + 28);
    Buffer copy = packet;
    copy[0] = 0x92;  // same header without the P bit
    ASSERT_TRUE(parse_rtp(copy).ok());
    for (std::size_t n = 0; n < copy.size(); ++n) {
        EXPECT_FALSE(parse_rtp(Bytes(copy.data(), n)).ok()) << "prefix of " << n << " octets";
    }
}

TEST(RtpPacket, BuildsByteExactPacket) {
    const std::array<std::uint32_t, 2> csrcs = {0x01020304, 0x05060708};
    const std::array<std::uint8_t, 4> ext = {0x10, 0xaa, 0x00, 0x00};
    RtpHeader header;
    header.marker = true;
    header.payload_type = 96;
    header.sequence = 1;
    header.timestamp = 4096;
    header.ssrc = 0x11223344;
    header.csrcs = csrcs;
    header.extension = RtpExtension{0xbede, ext};
    const std::array<std::uint8_t, 2> payload = {'h', 'i'};

    Buffer out = {0xff};  // appends after existing content
    const auto written = append_rtp(out, header, payload, 3);
    ASSERT_TRUE(written.ok()) << written.error();
    EXPECT_EQ(*written, k_full.size());
    ASSERT_EQ(out.size(), 1 + k_full.size());
    EXPECT_EQ(Buffer(out.begin() + 1, out.end()), k_full);
}

TEST(RtpPacket, BuildsMinimalPacketAndParsesBack) {
    RtpHeader header;
    header.payload_type = 0;
    header.sequence = 0xfffe;
    header.timestamp = 0xffffffff;
    header.ssrc = 7;
    const std::array<std::uint8_t, 1> payload = {0x42};
    Buffer out;
    ASSERT_TRUE(append_rtp(out, header, payload).ok());
    const Buffer expected = {0x80, 0x00, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 7, 0x42};
    EXPECT_EQ(out, expected);
    const auto view = parse_rtp(out);
    ASSERT_TRUE(view.ok());
    EXPECT_EQ(view->sequence(), 0xfffe);
    EXPECT_EQ(view->timestamp(), 0xffffffffu);
    EXPECT_EQ(view->payload().size(), 1u);
}

TEST(RtpPacket, BuilderRejectsInvalidHeadersAndAppendsNothing) {
    const std::array<std::uint32_t, 16> sixteen{};
    const std::array<std::uint8_t, 3> odd = {1, 2, 3};
    RtpHeader pt_too_big;
    pt_too_big.payload_type = 128;
    RtpHeader too_many_csrcs;
    too_many_csrcs.csrcs = sixteen;
    RtpHeader bad_extension;
    bad_extension.extension = RtpExtension{0xbede, odd};
    for (const RtpHeader& header : {pt_too_big, too_many_csrcs, bad_extension}) {
        Buffer out = {1, 2};
        EXPECT_FALSE(append_rtp(out, header, {}).ok());
        EXPECT_EQ(out.size(), 2u);
    }
}

TEST(RtpPacket, FifteenCsrcsRoundTrip) {
    std::array<std::uint32_t, 15> csrcs{};
    for (std::size_t i = 0; i < csrcs.size(); ++i)
        csrcs[i] = 0x1000u + static_cast<std::uint32_t>(i);
    RtpHeader header;
    header.csrcs = csrcs;
    Buffer out;
    ASSERT_TRUE(append_rtp(out, header, {}).ok());
    const auto view = parse_rtp(out);
    ASSERT_TRUE(view.ok());
    ASSERT_EQ(view->csrc_count(), 15);
    for (std::size_t i = 0; i < 15; ++i)
        EXPECT_EQ(view->csrc(i), csrcs[i]);
    EXPECT_EQ(view->header_size(), 12u + 60u);
}

TEST(RtpPacket, RewritersChangeOnlyTheirField) {
    Buffer packet = k_full;
    ASSERT_TRUE(set_sequence(packet, 0xabcd));
    ASSERT_TRUE(set_timestamp(packet, 0x01020304));
    ASSERT_TRUE(set_ssrc(packet, 0xcafebabe));
    ASSERT_TRUE(set_payload_type(packet, 111));
    const auto view = parse_rtp(packet);
    ASSERT_TRUE(view.ok());
    EXPECT_EQ(view->sequence(), 0xabcd);
    EXPECT_EQ(view->timestamp(), 0x01020304u);
    EXPECT_EQ(view->ssrc(), 0xcafebabeu);
    EXPECT_EQ(view->payload_type(), 111);
    EXPECT_TRUE(view->marker());  // kept
    EXPECT_EQ(view->csrc(1), 0x05060708u);
    EXPECT_EQ(Buffer(packet.begin() + 12, packet.end()), Buffer(k_full.begin() + 12, k_full.end()));

    ASSERT_TRUE(set_marker(packet, false));
    EXPECT_EQ(packet[1], 111);
    ASSERT_TRUE(set_marker(packet, true));
    EXPECT_EQ(packet[1], 0x80 | 111);
}

TEST(RtpPacket, RewritersRefuseShortPacketsAndBadValues) {
    Buffer short_packet(11, 0x80);
    EXPECT_FALSE(set_sequence(short_packet, 1));
    EXPECT_FALSE(set_timestamp(short_packet, 1));
    EXPECT_FALSE(set_ssrc(short_packet, 1));
    EXPECT_FALSE(set_payload_type(short_packet, 1));
    EXPECT_FALSE(set_marker(short_packet, true));
    EXPECT_EQ(short_packet, Buffer(11, 0x80));
    Buffer packet = k_full;
    EXPECT_FALSE(set_payload_type(packet, 128));
    EXPECT_EQ(packet, k_full);
}

struct DemuxCase {
    std::uint8_t first;
    std::uint8_t second;
    bool rtcp;
};

class RtcpDemux : public ::testing::TestWithParam<DemuxCase> {};

TEST_P(RtcpDemux, ClassifiesBySecondOctet) {
    const DemuxCase& c = GetParam();
    const std::array<std::uint8_t, 12> packet = {c.first, c.second, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1};
    EXPECT_EQ(looks_like_rtcp(packet), c.rtcp) << int{c.first} << " " << int{c.second};
}

INSTANTIATE_TEST_SUITE_P(Rfc5761, RtcpDemux,
                         ::testing::Values(DemuxCase{0x80, 200, true},   // SR
                                           DemuxCase{0x81, 201, true},   // RR
                                           DemuxCase{0x81, 206, true},   // PSFB
                                           DemuxCase{0x80, 192, true},   // lowest RTCP type
                                           DemuxCase{0x80, 223, true},   // highest RTCP type
                                           DemuxCase{0x80, 64, true},    // PT 64 without marker
                                           DemuxCase{0x80, 191, false},  // M + PT 63
                                           DemuxCase{0x80, 224, false},  // M + PT 96
                                           DemuxCase{0x80, 96, false},   // PT 96
                                           DemuxCase{0x80, 0, false},    // PCMU
                                           DemuxCase{0x40, 200, false},  // version 1
                                           DemuxCase{0x00, 200, false}));

TEST(RtpPacket, DemuxNeedsARtcpHeader) {
    const std::array<std::uint8_t, 3> three = {0x80, 200, 0};
    EXPECT_FALSE(looks_like_rtcp(three));
    EXPECT_FALSE(looks_like_rtcp({}));
}

}  // namespace
}  // namespace sg::rtp
