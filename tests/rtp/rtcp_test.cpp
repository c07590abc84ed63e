#include "rtp/rtcp.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sg::rtp {
namespace {

using Buffer = std::vector<std::uint8_t>;
using namespace std::chrono_literals;

Buffer concat(std::initializer_list<Buffer> parts) {
    Buffer out;
    for (const Buffer& p : parts)
        out.insert(out.end(), p.begin(), p.end());
    return out;
}

// SR, RC=1, length 12 (52 octets): SSRC 0x11223344, NTP 0xE1234567.89ABCDEF, RTP ts 65536, 10 packets,
// 1000 octets; one block about 0x55667788: fraction 0x40, cumulative lost -2, ext. highest seq 0x1FFFF,
// jitter 32, LSR 0x456789AB, DLSR 1 s.
const Buffer k_sr = {
    0x81, 0xc8, 0x00, 0x0c, 0x11, 0x22, 0x33, 0x44, 0xe1, 0x23, 0x45, 0x67, 0x89, 0xab,
    0xcd, 0xef, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x03, 0xe8,  // sender info
    0x55, 0x66, 0x77, 0x88, 0x40, 0xff, 0xff, 0xfe, 0x00, 0x01, 0xff, 0xff,              // report block
    0x00, 0x00, 0x00, 0x20, 0x45, 0x67, 0x89, 0xab, 0x00, 0x01, 0x00, 0x00,
};
// SDES, SC=1, CNAME "user@host": 4 + (2 + 9) = 15 octets of chunk, one null makes 16 (length 4).
const Buffer k_sdes_cname = {0x81, 0xca, 0x00, 0x04, 0x11, 0x22, 0x33, 0x44, 0x01, 0x09,
                             'u',  's',  'e',  'r',  '@',  'h',  'o',  's',  't',  0x00};
// RR, RC=0, SSRC 10.
const Buffer k_rr = {0x80, 0xc9, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0a};
// SDES, SC=3: {10: CNAME "a"} = 7 octets + 1 null; {11: CNAME "ab", NAME "Bob"} = 13 + 3 nulls;
// {12: no items} = SSRC + 4 nulls. Body 32 octets, length 8.
const Buffer k_sdes_three = {
    0x83, 0xca, 0x00, 0x08, 0x00, 0x00, 0x00, 0x0a, 0x01, 0x01, 'a',  0x00,
    0x00, 0x00, 0x00, 0x0b, 0x01, 0x02, 'a',  'b',  0x02, 0x03, 'B',  'o',
    'b',  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x00,
};
// BYE, SC=2 (10, 11), reason "done": 1 + 4 octets padded with 3 nulls. Length 4.
const Buffer k_bye = {0x82, 0xcb, 0x00, 0x04, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00,
                      0x00, 0x0b, 0x04, 'd',  'o',  'n',  'e',  0x00, 0x00, 0x00};
// APP, subtype 3, SSRC 10, name "TEST", one data word.
const Buffer k_app = {0x83, 0xcc, 0x00, 0x03, 0x00, 0x00, 0x00, 0x0a,
                      'T',  'E',  'S',  'T',  0xde, 0xad, 0xbe, 0xef};

TEST(Rtcp, SenderReportWithSdes) {
    const Buffer datagram = concat({k_sr, k_sdes_cname});
    const auto compound = validate_compound(datagram);
    ASSERT_TRUE(compound.ok()) << compound.error();
    ASSERT_EQ(compound->size(), 2u);
    EXPECT_EQ((*compound)[0].type, RtcpType::sr);
    EXPECT_EQ((*compound)[0].data.size(), 52u);
    EXPECT_EQ((*compound)[1].type, RtcpType::sdes);

    const auto sr = parse_sender_report((*compound)[0]);
    ASSERT_TRUE(sr.ok()) << sr.error();
    EXPECT_EQ(sr->ssrc, 0x11223344u);
    EXPECT_EQ(sr->sender.ntp_timestamp, 0xe123456789abcdefull);
    EXPECT_EQ(sr->sender.rtp_timestamp, 65536u);
    EXPECT_EQ(sr->sender.packet_count, 10u);
    EXPECT_EQ(sr->sender.octet_count, 1000u);
    ASSERT_EQ(sr->reports.size(), 1u);
    const ReportBlock block = sr->reports[0];
    EXPECT_EQ(block.ssrc, 0x55667788u);
    EXPECT_EQ(block.fraction_lost, 0x40);
    EXPECT_EQ(block.cumulative_lost, -2);
    EXPECT_EQ(block.highest_sequence, 0x1ffffu);
    EXPECT_EQ(block.jitter, 32u);
    EXPECT_EQ(block.last_sr, 0x456789abu);
    EXPECT_EQ(block.delay_since_last_sr, 65536u);
    EXPECT_EQ(sr->reports[1], ReportBlock{});
    EXPECT_TRUE(sr->profile_extension.empty());

    const auto sdes = parse_sdes((*compound)[1]);
    ASSERT_TRUE(sdes.ok()) << sdes.error();
    ASSERT_EQ(sdes->chunk_count(), 1u);
    const SdesChunk chunk = *sdes->begin();
    EXPECT_EQ(chunk.ssrc(), 0x11223344u);
    EXPECT_EQ(chunk.find(SdesType::cname), "user@host");
    EXPECT_FALSE(chunk.find(SdesType::name).has_value());
}

TEST(Rtcp, BuildsSenderReportWithSdesByteExact) {
    ReportBlock block;
    block.ssrc = 0x55667788;
    block.fraction_lost = 0x40;
    block.cumulative_lost = -2;
    block.highest_sequence = 0x1ffff;
    block.jitter = 32;
    block.last_sr = 0x456789ab;
    block.delay_since_last_sr = 65536;
    const SenderInfo info{0xe123456789abcdefull, 65536, 10, 1000};
    Buffer out;
    const auto sr_size = append_sender_report(out, 0x11223344, info, std::span<const ReportBlock>(&block, 1));
    ASSERT_TRUE(sr_size.ok()) << sr_size.error();
    EXPECT_EQ(*sr_size, 52u);
    const auto sdes_size = append_sdes_cname(out, 0x11223344, "user@host");
    ASSERT_TRUE(sdes_size.ok()) << sdes_size.error();
    EXPECT_EQ(*sdes_size, 20u);
    EXPECT_EQ(out, concat({k_sr, k_sdes_cname}));
}

TEST(Rtcp, ReceiverReportSdesAndBye) {
    const Buffer datagram = concat({k_rr, k_sdes_three, k_bye});
    const auto compound = validate_compound(datagram);
    ASSERT_TRUE(compound.ok()) << compound.error();
    ASSERT_EQ(compound->size(), 3u);

    const auto rr = parse_receiver_report((*compound)[0]);
    ASSERT_TRUE(rr.ok()) << rr.error();
    EXPECT_EQ(rr->ssrc, 10u);
    EXPECT_TRUE(rr->reports.empty());

    const auto sdes = parse_sdes((*compound)[1]);
    ASSERT_TRUE(sdes.ok()) << sdes.error();
    ASSERT_EQ(sdes->chunk_count(), 3u);
    std::vector<std::uint32_t> ssrcs;
    std::vector<std::pair<SdesType, std::string>> items;
    for (const SdesChunk chunk : *sdes) {
        ssrcs.push_back(chunk.ssrc());
        for (const SdesItem item : chunk)
            items.emplace_back(item.type, std::string(item.text));
    }
    EXPECT_EQ(ssrcs, (std::vector<std::uint32_t>{10, 11, 12}));
    const std::vector<std::pair<SdesType, std::string>> expected_items = {
        {SdesType::cname, "a"}, {SdesType::cname, "ab"}, {SdesType::name, "Bob"}};
    EXPECT_EQ(items, expected_items);

    const auto bye = parse_bye((*compound)[2]);
    ASSERT_TRUE(bye.ok()) << bye.error();
    ASSERT_EQ(bye->source_count(), 2u);
    EXPECT_EQ(bye->source(0), 10u);
    EXPECT_EQ(bye->source(1), 11u);
    EXPECT_EQ(bye->source(2), 0u);
    EXPECT_EQ(bye->reason, "done");
}

TEST(Rtcp, BuildsReceiverReportSdesAndByeByteExact) {
    const std::array<SdesItem, 1> a = {SdesItem{SdesType::cname, "a"}};
    const std::array<SdesItem, 2> b = {SdesItem{SdesType::cname, "ab"}, SdesItem{SdesType::name, "Bob"}};
    const std::array<SdesChunkSpec, 3> chunks = {SdesChunkSpec{10, a}, SdesChunkSpec{11, b},
                                                 SdesChunkSpec{12, {}}};
    const std::array<std::uint32_t, 2> leaving = {10, 11};
    Buffer out;
    ASSERT_TRUE(append_receiver_report(out, 10).ok());
    ASSERT_TRUE(append_sdes(out, chunks).ok());
    const auto bye_size = append_bye(out, leaving, "done");
    ASSERT_TRUE(bye_size.ok());
    EXPECT_EQ(*bye_size, 20u);
    EXPECT_EQ(out, concat({k_rr, k_sdes_three, k_bye}));
}

TEST(Rtcp, ApplicationDefined) {
    const Buffer datagram = concat({k_rr, k_app});
    const auto compound = validate_compound(datagram);
    ASSERT_TRUE(compound.ok()) << compound.error();
    const auto app = parse_app((*compound)[1]);
    ASSERT_TRUE(app.ok()) << app.error();
    EXPECT_EQ(app->subtype, 3);
    EXPECT_EQ(app->ssrc, 10u);
    EXPECT_EQ(app->name, "TEST");
    ASSERT_EQ(app->data.size(), 4u);
    EXPECT_EQ(app->data[0], 0xde);

    Buffer out;
    const std::array<std::uint8_t, 4> data = {0xde, 0xad, 0xbe, 0xef};
    ASSERT_TRUE(append_receiver_report(out, 10).ok());
    ASSERT_TRUE(append_app(out, 3, 10, "TEST", data).ok());
    EXPECT_EQ(out, datagram);
}

TEST(Rtcp, UnknownTypesAreSplitGenerically) {
    // RFC 4585 PSFB PLI (FMT 1): sender SSRC, media SSRC, no FCI. First in a reduced-size datagram.
    const Buffer pli = {0x81, 0xce, 0x00, 0x02, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x0b};
    const Buffer datagram = concat({pli, k_rr});
    const auto compound = parse_compound(datagram);
    ASSERT_TRUE(compound.ok()) << compound.error();
    ASSERT_EQ(compound->size(), 2u);
    EXPECT_EQ((*compound)[0].type, RtcpType::psfb);
    EXPECT_EQ((*compound)[0].count, 1);
    EXPECT_EQ((*compound)[0].body.size(), 8u);
    EXPECT_FALSE(parse_sender_report((*compound)[0]).ok());
    EXPECT_FALSE(validate_compound(datagram).ok());  // A.2 wants SR or RR first
}

TEST(Rtcp, PaddingOnTheLastPacketIsStripped) {
    // BYE SC=1 with the P bit: 4 octets of padding, the last one holding the count.
    const Buffer padded_bye = {0xa1, 0xcb, 0x00, 0x02, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x04};
    const auto compound = validate_compound(concat({k_rr, padded_bye}));
    ASSERT_TRUE(compound.ok()) << compound.error();
    const RtcpPacket& packet = (*compound)[1];
    EXPECT_TRUE(packet.padding);
    EXPECT_EQ(packet.body.size(), 4u);
    EXPECT_EQ(packet.data.size(), 12u);
    const auto bye = parse_bye(packet);
    ASSERT_TRUE(bye.ok()) << bye.error();
    EXPECT_EQ(bye->source_count(), 1u);
    EXPECT_FALSE(bye->reason.has_value());
}

TEST(Rtcp, CompoundPacketCap) {
    Buffer many;
    for (std::size_t i = 0; i < k_max_compound_packets; ++i)
        many.insert(many.end(), k_rr.begin(), k_rr.end());
    EXPECT_TRUE(validate_compound(many).ok());
    many.insert(many.end(), k_rr.begin(), k_rr.end());
    EXPECT_FALSE(parse_compound(many).ok());
}

struct Invalid {
    const char* name;
    Buffer datagram;
    bool lenient_ok;  // parse_compound accepts it; only validate_compound (A.2) rejects it
};

class RtcpInvalidCompound : public ::testing::TestWithParam<Invalid> {};

TEST_P(RtcpInvalidCompound, IsRejected) {
    const Invalid& c = GetParam();
    const auto strict = validate_compound(c.datagram);
    EXPECT_FALSE(strict.ok());
    EXPECT_FALSE(strict.error().empty());
    EXPECT_EQ(parse_compound(c.datagram).ok(), c.lenient_ok);
}

const Buffer k_padded_rr = {0xa0, 0xc9, 0x00, 0x02, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x04};

INSTANTIATE_TEST_SUITE_P(
    AppendixA2, RtcpInvalidCompound,
    ::testing::Values(
        Invalid{"empty", {}, false}, Invalid{"header_truncated", {0x80, 0xc9, 0x00}, false},
        Invalid{"first_version_1", {0x40, 0xc9, 0x00, 0x01, 0, 0, 0, 10}, false},
        Invalid{"first_version_0", {0x00, 0xc9, 0x00, 0x01, 0, 0, 0, 10}, false},
        Invalid{"second_version_3", concat({k_rr, {0xc0, 0xcb, 0x00, 0x00}}), false},
        Invalid{"first_is_sdes", k_sdes_cname, true}, Invalid{"first_is_bye", k_bye, true},
        Invalid{"first_is_app", k_app, true},
        Invalid{"padding_on_first_of_two", concat({k_padded_rr, k_sdes_cname}), true},
        Invalid{"padding_in_the_middle", concat({k_rr, k_padded_rr, k_bye}), true},
        Invalid{"length_exceeds_datagram", concat({k_rr, {0x81, 0xca, 0x00, 0x05, 0, 0, 0, 10}}), false},
        Invalid{"sr_length_exceeds", Buffer(k_sr.begin(), k_sr.end() - 4), false},
        Invalid{"trailing_two_octets", concat({k_rr, {0x00, 0x00}}), false},
        Invalid{"trailing_three_octets", concat({k_rr, {0x80, 0xca, 0x00}}), false},
        Invalid{"padding_count_zero", concat({k_rr, {0xa1, 0xcb, 0x00, 0x01, 0, 0, 0, 0}}), false},
        Invalid{"padding_count_exceeds", {0xa0, 0xc9, 0x00, 0x01, 0, 0, 0, 9}, false}),
    [](const auto& test) { return std::string(test.param.name); });

TEST(Rtcp, EveryTruncationOfACompoundFails) {
    const Buffer datagram = concat({k_sr, k_sdes_cname});
    for (std::size_t n = 0; n < datagram.size(); ++n) {
        const bool boundary = n == k_sr.size();  // the SR alone is a valid compound
        EXPECT_EQ(validate_compound(Bytes(datagram.data(), n)).ok(), boundary) << n;
    }
}

struct Malformed {
    const char* name;
    Buffer packet;
};

class RtcpMalformedPacket : public ::testing::TestWithParam<Malformed> {};

// Each datagram splits fine; its single packet fails its typed decoder.
TEST_P(RtcpMalformedPacket, TypedParseFails) {
    const auto compound = parse_compound(GetParam().packet);
    ASSERT_TRUE(compound.ok()) << compound.error();
    ASSERT_EQ(compound->size(), 1u);
    const RtcpPacket& p = (*compound)[0];
    switch (p.type) {
        case RtcpType::sr:
            EXPECT_FALSE(parse_sender_report(p).ok());
            break;
        case RtcpType::rr:
            EXPECT_FALSE(parse_receiver_report(p).ok());
            break;
        case RtcpType::sdes:
            EXPECT_FALSE(parse_sdes(p).ok());
            break;
        case RtcpType::bye:
            EXPECT_FALSE(parse_bye(p).ok());
            break;
        case RtcpType::app:
            EXPECT_FALSE(parse_app(p).ok());
            break;
        default:
            FAIL() << "unexpected type";
    }
}

Buffer sr_with_blocks_missing() {
    Buffer b(k_sr.begin(), k_sr.begin() + 28);
    b[0] = 0x81;  // RC=1 but no block
    b[3] = 0x06;
    return b;
}

INSTANTIATE_TEST_SUITE_P(
    Bodies, RtcpMalformedPacket,
    ::testing::Values(
        Malformed{"sr_sender_info_truncated", {0x80, 0xc8, 0x00, 0x01, 0, 0, 0, 1}},
        Malformed{"sr_report_block_missing", sr_with_blocks_missing()},
        Malformed{"rr_ssrc_missing", {0x80, 0xc9, 0x00, 0x00}},
        Malformed{"rr_second_block_missing",
                  [] {
                      Buffer b = {0x82, 0xc9, 0x00, 0x07, 0, 0, 0, 1};
                      b.resize(32, 0);
                      return b;
                  }()},
        Malformed{"sdes_not_terminated", {0x81, 0xca, 0x00, 0x02, 0, 0, 0, 1, 0x01, 0x02, 'a', 'b'}},
        Malformed{"sdes_item_exceeds", {0x81, 0xca, 0x00, 0x02, 0, 0, 0, 1, 0x01, 0x05, 'a', 'b'}},
        Malformed{"sdes_item_length_missing", {0x81, 0xca, 0x00, 0x02, 0, 0, 0, 1, 0x01, 0x01, 'a', 0x07}},
        Malformed{"sdes_second_chunk_missing", {0x82, 0xca, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 0}},
        Malformed{"sdes_trailing_data", {0x81, 0xca, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}},
        Malformed{"sdes_chunk_padding_cut_by_p_bit",
                  {0xa1, 0xca, 0x00, 0x03, 0, 0, 0, 1, 0x01, 0x00, 0x00, 0x00, 0, 0, 0, 5}},
        Malformed{"bye_sources_truncated", {0x82, 0xcb, 0x00, 0x01, 0, 0, 0, 1}},
        Malformed{"bye_reason_exceeds", {0x81, 0xcb, 0x00, 0x02, 0, 0, 0, 1, 0x05, 'a', 'b', 'c'}},
        Malformed{"bye_trailing_data", {0x81, 0xcb, 0x00, 0x03, 0, 0, 0, 1, 0x01, 'x', 0, 0, 0, 0, 0, 0}},
        Malformed{"app_header_truncated", {0x80, 0xcc, 0x00, 0x01, 0, 0, 0, 1}},
        Malformed{"app_data_not_words",
                  {0xa0, 0xcc, 0x00, 0x03, 0, 0, 0, 1, 'T', 'E', 'S', 'T', 0x01, 0x02, 0x03, 0x01}}),
    [](const auto& test) { return std::string(test.param.name); });

TEST(Rtcp, TypedParsersCheckTheType) {
    const auto compound = parse_compound(k_rr);
    ASSERT_TRUE(compound.ok());
    const RtcpPacket& rr = (*compound)[0];
    EXPECT_FALSE(parse_sender_report(rr).ok());
    EXPECT_FALSE(parse_sdes(rr).ok());
    EXPECT_FALSE(parse_bye(rr).ok());
    EXPECT_FALSE(parse_app(rr).ok());
    EXPECT_TRUE(parse_receiver_report(rr).ok());
}

TEST(Rtcp, CumulativeLostIsTwentyFourBitSigned) {
    struct Case {
        std::int32_t value;
        std::array<std::uint8_t, 3> wire;
    };
    const Case cases[] = {
        {0, {0x00, 0x00, 0x00}},           {1, {0x00, 0x00, 0x01}},
        {-1, {0xff, 0xff, 0xff}},          {0x7fffff, {0x7f, 0xff, 0xff}},
        {-0x800000, {0x80, 0x00, 0x00}},   {10'000'000, {0x7f, 0xff, 0xff}},  // clamped
        {-10'000'000, {0x80, 0x00, 0x00}},                                    // clamped
    };
    for (const Case& c : cases) {
        ReportBlock block;
        block.cumulative_lost = c.value;
        Buffer out;
        ASSERT_TRUE(append_receiver_report(out, 1, std::span<const ReportBlock>(&block, 1)).ok());
        ASSERT_EQ(out.size(), 32u);
        EXPECT_EQ(out[13], c.wire[0]) << c.value;
        EXPECT_EQ(out[14], c.wire[1]) << c.value;
        EXPECT_EQ(out[15], c.wire[2]) << c.value;
        const auto compound = parse_compound(out);
        ASSERT_TRUE(compound.ok());
        const auto rr = parse_receiver_report((*compound)[0]);
        ASSERT_TRUE(rr.ok());
        EXPECT_EQ(rr->reports[0].cumulative_lost, std::clamp(c.value, -0x800000, 0x7fffff));
    }
}

TEST(Rtcp, ReportsWithProfileExtensionRoundTrip) {
    std::array<ReportBlock, 31> blocks{};
    for (std::size_t i = 0; i < blocks.size(); ++i) {
        blocks[i].ssrc = static_cast<std::uint32_t>(i + 1);
        blocks[i].jitter = static_cast<std::uint32_t>(i * 7);
    }
    const std::array<std::uint8_t, 8> ext = {1, 2, 3, 4, 5, 6, 7, 8};
    Buffer out;
    const auto size = append_sender_report(out, 99, SenderInfo{1, 2, 3, 4}, blocks, ext);
    ASSERT_TRUE(size.ok());
    EXPECT_EQ(*size, 4u + 24u + 31u * 24u + 8u);
    const auto compound = validate_compound(out);
    ASSERT_TRUE(compound.ok()) << compound.error();
    const auto sr = parse_sender_report((*compound)[0]);
    ASSERT_TRUE(sr.ok());
    EXPECT_EQ(sr->sender, (SenderInfo{1, 2, 3, 4}));
    ASSERT_EQ(sr->reports.size(), 31u);
    for (std::size_t i = 0; i < blocks.size(); ++i)
        EXPECT_EQ(sr->reports[i], blocks[i]);
    ASSERT_EQ(sr->profile_extension.size(), 8u);
    EXPECT_EQ(sr->profile_extension[7], 8);
}

TEST(Rtcp, SdesChunkIsNullTerminatedAndWordAligned) {
    const std::string text = "abcdefghij";
    for (std::size_t n = 0; n <= text.size(); ++n) {
        Buffer out;
        ASSERT_TRUE(append_sdes_cname(out, 5, std::string_view(text).substr(0, n)).ok());
        // header + SSRC + type + length + text + at least one null, rounded up to words.
        const std::size_t expected = 4 + ((4 + 2 + n + 1 + 3) / 4) * 4;
        ASSERT_EQ(out.size(), expected) << n;
        EXPECT_EQ(out[4 + 4 + 2 + n], 0) << n;
        const auto compound = parse_compound(out);
        ASSERT_TRUE(compound.ok());
        const auto sdes = parse_sdes((*compound)[0]);
        ASSERT_TRUE(sdes.ok()) << n;
        EXPECT_EQ((*sdes->begin()).find(SdesType::cname), text.substr(0, n));
    }
}

TEST(Rtcp, ByeReasonIsPaddedToAWord) {
    const std::string text = "goodbye";
    const std::array<std::uint32_t, 1> source = {0xabcdef01};
    for (std::size_t n = 0; n <= text.size(); ++n) {
        Buffer out;
        ASSERT_TRUE(append_bye(out, source, std::string_view(text).substr(0, n)).ok());
        EXPECT_EQ(out.size(), 8 + ((1 + n + 3) / 4) * 4) << n;
        const auto compound = parse_compound(out);
        ASSERT_TRUE(compound.ok());
        const auto bye = parse_bye((*compound)[0]);
        ASSERT_TRUE(bye.ok()) << n;
        EXPECT_EQ(bye->reason, text.substr(0, n));
        EXPECT_EQ(bye->source(0), 0xabcdef01u);
    }
    Buffer out;
    ASSERT_TRUE(append_bye(out, source).ok());
    EXPECT_EQ(out, (Buffer{0x81, 0xcb, 0x00, 0x01, 0xab, 0xcd, 0xef, 0x01}));
}

TEST(Rtcp, BuildersRejectInvalidInputAndAppendNothing) {
    const std::array<ReportBlock, 32> blocks{};
    const std::array<std::uint8_t, 3> odd = {1, 2, 3};
    const std::string long_text(256, 'x');
    const std::array<SdesItem, 1> end_item = {SdesItem{SdesType::end, "x"}};
    const std::array<SdesItem, 1> long_item = {SdesItem{SdesType::note, long_text}};
    const std::array<SdesChunkSpec, 1> end_chunk = {SdesChunkSpec{1, end_item}};
    const std::array<SdesChunkSpec, 1> long_chunk = {SdesChunkSpec{1, long_item}};
    const std::array<SdesChunkSpec, 32> many_chunks{};
    const std::array<std::uint32_t, 32> many_sources{};

    Buffer out = {0xee};
    EXPECT_FALSE(append_sender_report(out, 1, SenderInfo{}, blocks).ok());
    EXPECT_FALSE(append_receiver_report(out, 1, blocks).ok());
    EXPECT_FALSE(append_receiver_report(out, 1, {}, odd).ok());
    EXPECT_FALSE(append_sdes(out, end_chunk).ok());
    EXPECT_FALSE(append_sdes(out, long_chunk).ok());
    EXPECT_FALSE(append_sdes(out, many_chunks).ok());
    EXPECT_FALSE(append_bye(out, many_sources).ok());
    EXPECT_FALSE(append_bye(out, {}, long_text).ok());
    EXPECT_FALSE(append_app(out, 32, 1, "TEST").ok());
    EXPECT_FALSE(append_app(out, 1, 1, "TES").ok());
    EXPECT_FALSE(append_app(out, 1, 1, "TESTS").ok());
    EXPECT_FALSE(append_app(out, 1, 1, "TEST", odd).ok());
    EXPECT_EQ(out, Buffer{0xee});
}

TEST(Rtcp, EmptySdesAndByeAreValid) {
    Buffer out;
    ASSERT_TRUE(append_receiver_report(out, 1).ok());
    ASSERT_TRUE(append_sdes(out, {}).ok());
    ASSERT_TRUE(append_bye(out, {}).ok());
    const auto compound = validate_compound(out);
    ASSERT_TRUE(compound.ok()) << compound.error();
    ASSERT_EQ(compound->size(), 3u);
    const auto sdes = parse_sdes((*compound)[1]);
    ASSERT_TRUE(sdes.ok());
    EXPECT_EQ(sdes->chunk_count(), 0u);
    EXPECT_TRUE(sdes->begin() == sdes->end());
    const auto bye = parse_bye((*compound)[2]);
    ASSERT_TRUE(bye.ok());
    EXPECT_EQ(bye->source_count(), 0u);
}

TEST(Rtcp, NtpTimestamps) {
    using std::chrono::system_clock;
    const system_clock::time_point unix_epoch{};
    EXPECT_EQ(to_ntp(unix_epoch), 2208988800ull << 32);
    EXPECT_EQ(to_ntp(unix_epoch + 500ms), (2208988800ull << 32) | 0x80000000u);
    EXPECT_EQ(to_ntp(unix_epoch + 250ms), (2208988800ull << 32) | 0x40000000u);
    // 2036-02-07T06:28:16Z is NTP era 1, second 0.
    EXPECT_EQ(to_ntp(unix_epoch + std::chrono::seconds(2085978496)), 0u);

    for (const auto t :
         {unix_epoch, unix_epoch + 123456789ns, unix_epoch + std::chrono::seconds(1700000000) + 999999999ns,
          unix_epoch + std::chrono::seconds(2085978496 + 86400) + 1ns}) {
        EXPECT_EQ(from_ntp(to_ntp(t)), t);
    }
    EXPECT_EQ(ntp_middle32(0x0123456789abcdefull), 0x456789abu);
}

TEST(Rtcp, DlsrUnits) {
    EXPECT_EQ(to_dlsr(1s), 65536u);
    EXPECT_EQ(to_dlsr(500ms), 32768u);
    EXPECT_EQ(to_dlsr(5250ms), 0x54000u);
    EXPECT_EQ(to_dlsr(0ns), 0u);
    EXPECT_EQ(to_dlsr(-1s), 0u);
    EXPECT_EQ(to_dlsr(std::chrono::hours(24)), 0xffffffffu);  // more than 65536 s: clamped
}

TEST(Rtcp, RoundTripTimeFromRfc3550Figure2) {
    // §6.4.1: A = 0xb710:8000 (46864.500 s), LSR = 0xb705:2000 (46853.125 s), DLSR = 0x0005:4000 (5.250 s)
    // gives 0x0006:2000 (6.125 s).
    EXPECT_EQ(round_trip_time(0xb7108000u, 0xb7052000u, 0x00054000u), 0x00062000u);
    EXPECT_FALSE(round_trip_time(0xb7108000u, 0, 0).has_value());                      // no SR seen
    EXPECT_FALSE(round_trip_time(0xb7108000u, 0xb7052000u, 0x000c0000u).has_value());  // negative
    EXPECT_EQ(round_trip_time(0x00001000u, 0xfffff000u, 0x1000u), 0x1000u);            // wraps
}

}  // namespace
}  // namespace sg::rtp
