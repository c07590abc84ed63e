// The depacketizer is the packetizers' inverse: what serve's packetizers send (single NAL units, STAP-A,
// FU-A; H.265 APs and FUs; RFC 3640 AU headers) comes back as the access units that went in, and any hole
// (a lost packet, a fragment run cut short, a payload that does not parse) marks the track damaged.
#include "rtp/depacketizer.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "rtp/aac_packetizer.hpp"
#include "rtp/h264_packetizer.hpp"
#include "rtp/h265_packetizer.hpp"
#include "rtp/payload_list.hpp"
#include "rtp/rtp_packet.hpp"

namespace sg::rtp {
namespace {

using Unit = std::vector<std::uint8_t>;
using Packets = std::vector<std::vector<std::uint8_t>>;

Unit nal(std::uint8_t header, std::size_t size, std::uint8_t second = 1) {
    Unit n(size);
    n[0] = header;
    if (size > 1) n[1] = second;
    for (std::size_t i = 2; i < size; ++i)
        n[i] = static_cast<std::uint8_t>(i * 7 + size);
    return n;
}

Unit annex_b(const std::vector<Unit>& nals) {
    Unit out;
    for (const auto& n : nals) {
        out.insert(out.end(), {0, 0, 0, 1});
        out.insert(out.end(), n.begin(), n.end());
    }
    return out;
}

// RTP packets of the payloads, numbered on from `sequence`.
void append_packets(const PayloadList& payloads, std::uint32_t timestamp, std::uint16_t& sequence,
                    Packets& out) {
    for (std::size_t i = 0; i < payloads.size(); ++i) {
        RtpHeader header;
        header.marker = payloads.chunk(i).marker;
        header.payload_type = 96;
        header.sequence = sequence++;
        header.timestamp = timestamp + payloads.chunk(i).timestamp_offset;
        header.ssrc = 0x1234;
        std::vector<std::uint8_t> packet;
        ASSERT_TRUE(append_rtp(packet, header, payloads.payload(i)).ok());
        out.push_back(std::move(packet));
    }
}

std::vector<AccessUnit> run(Depacketizer& depacketizer, const Packets& packets) {
    for (const auto& packet : packets)
        depacketizer.feed(Bytes(packet.data(), packet.size()));
    depacketizer.flush();
    return depacketizer.take();
}

TEST(Depacketizer, H264AccessUnitsComeBackAsTheyWentIn) {
    const Unit sps = nal(0x67, 12);
    const Unit pps = nal(0x68, 5);
    H264Config config;
    config.sps = {sps};
    config.pps = {pps};
    H264Packetizer packetizer(config, 200);
    // A key frame cut into FU-As (with the parameter sets in a STAP-A before it), then two small frames.
    const std::vector<Unit> frames = {annex_b({nal(0x65, 1000)}), annex_b({nal(0x41, 90), nal(0x41, 60)}),
                                      annex_b({nal(0x01, 30)})};
    Packets packets;
    std::uint16_t sequence = 65530;         // the sequence numbers wrap on the way
    std::uint32_t timestamp = 0xFFFFF000U;  // and so does the timestamp
    for (const auto& frame : frames) {
        PayloadList payloads;
        ASSERT_TRUE(packetizer.packetize(Bytes(frame.data(), frame.size()), payloads).ok());
        append_packets(payloads, timestamp, sequence, packets);
        timestamp += 3600;
    }
    Depacketizer depacketizer(DepacketizedCodec::h264);
    const auto units = run(depacketizer, packets);
    EXPECT_FALSE(depacketizer.damaged());
    ASSERT_EQ(units.size(), 3U);
    EXPECT_EQ(units[0].data, annex_b({sps, pps, nal(0x65, 1000)}));
    EXPECT_TRUE(units[0].key);
    EXPECT_EQ(units[0].timestamp, 0);
    EXPECT_EQ(units[1].data, frames[1]);
    EXPECT_FALSE(units[1].key);
    EXPECT_EQ(units[1].timestamp, 3600);
    EXPECT_EQ(units[2].data, frames[2]);
    EXPECT_EQ(units[2].timestamp, 7200);
}

TEST(Depacketizer, H265FragmentsAndAggregatesComeBackAsTheyWentIn) {
    // VPS, SPS, PPS (types 32-34) and an IDR_W_RADL slice (type 19) larger than a payload.
    const Unit vps = nal(32 << 1, 20);
    const Unit sps = nal(33 << 1, 30);
    const Unit pps = nal(34 << 1, 8);
    const Unit idr = nal(19 << 1, 900);
    const Unit trail = nal(1 << 1, 50);
    const Unit extradata = annex_b({vps, sps, pps});
    auto config = parse_h265_extradata(Bytes(extradata.data(), extradata.size()));
    ASSERT_TRUE(config.ok());
    H265Packetizer packetizer(*config, 300);
    Packets packets;
    std::uint16_t sequence = 1;
    std::uint32_t timestamp = 1000;
    for (const auto& frame : {annex_b({idr}), annex_b({trail})}) {
        PayloadList payloads;
        ASSERT_TRUE(packetizer.packetize(Bytes(frame.data(), frame.size()), payloads).ok());
        append_packets(payloads, timestamp, sequence, packets);
        timestamp += 3000;
    }
    Depacketizer depacketizer(DepacketizedCodec::h265);
    const auto units = run(depacketizer, packets);
    EXPECT_FALSE(depacketizer.damaged());
    ASSERT_EQ(units.size(), 2U);
    EXPECT_TRUE(units[0].key);
    // The IDR comes back whole, after whatever parameter sets the packetizer sent in front of it.
    const Unit idr_b = annex_b({idr});
    ASSERT_GE(units[0].data.size(), idr_b.size());
    EXPECT_TRUE(
        std::equal(idr_b.begin(), idr_b.end(), units[0].data.end() - static_cast<long>(idr_b.size())));
    EXPECT_EQ(units[1].data, annex_b({trail}));
    EXPECT_FALSE(units[1].key);
}

TEST(Depacketizer, AacFramesComeBackOneUnitEach) {
    AacPacketizer packetizer;
    Packets packets;
    std::uint16_t sequence = 7;
    std::vector<Unit> frames = {Unit(200, 0x11), Unit(340, 0x22), Unit(7, 0x33)};
    std::uint32_t timestamp = 0;
    for (const auto& frame : frames) {
        PayloadList payloads;
        ASSERT_TRUE(packetizer.packetize(Bytes(frame.data(), frame.size()), payloads).ok());
        append_packets(payloads, timestamp, sequence, packets);
        timestamp += 1024;
    }
    Depacketizer depacketizer(DepacketizedCodec::aac, 13, 3);
    const auto units = run(depacketizer, packets);
    EXPECT_FALSE(depacketizer.damaged());
    ASSERT_EQ(units.size(), 3U);
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(units[i].data, frames[i]);
        EXPECT_EQ(units[i].timestamp, static_cast<std::int64_t>(1024 * i));
    }
}

TEST(Depacketizer, SeveralAacUnitsInOnePacketGetTheirOwnTimes) {
    // AU-headers-length 32 bits: two headers of 13+3 bits (sizes 3 and 2), then the units.
    const std::vector<std::uint8_t> payload = {0x00, 0x20, 0x00, 0x18, 0x00, 0x10, 1, 2, 3, 4, 5};
    RtpHeader header;
    header.payload_type = 97;
    header.timestamp = 500;
    std::vector<std::uint8_t> packet;
    ASSERT_TRUE(append_rtp(packet, header, Bytes(payload.data(), payload.size())).ok());
    Depacketizer depacketizer(DepacketizedCodec::aac);
    const auto units = run(depacketizer, {packet});
    ASSERT_EQ(units.size(), 2U);
    EXPECT_EQ(units[0].data, (Unit{1, 2, 3}));
    EXPECT_EQ(units[1].data, (Unit{4, 5}));
    EXPECT_EQ(units[1].timestamp, 1024);
}

TEST(Depacketizer, ALostPacketDamagesTheTrack) {
    H264Packetizer packetizer(H264Config{}, 100);
    const Unit frame = annex_b({nal(0x65, 500)});
    PayloadList payloads;
    ASSERT_TRUE(packetizer.packetize(Bytes(frame.data(), frame.size()), payloads).ok());
    Packets packets;
    std::uint16_t sequence = 0;
    append_packets(payloads, 0, sequence, packets);
    ASSERT_GT(packets.size(), 3U);
    packets.erase(packets.begin() + 2);
    Depacketizer depacketizer(DepacketizedCodec::h264);
    const auto units = run(depacketizer, packets);
    EXPECT_TRUE(depacketizer.damaged());
    EXPECT_TRUE(units.empty());
}

TEST(Depacketizer, AFragmentRunCutShortDamagesTheTrack) {
    // FU-A start of an IDR, then (next sequence number, new timestamp) a single NAL unit: the IDR never
    // ended.
    const std::vector<std::uint8_t> start = {0x7c, 0x85, 1, 2, 3};
    const std::vector<std::uint8_t> single = {0x41, 9, 9};
    Packets packets;
    for (std::uint16_t i = 0; i < 2; ++i) {
        RtpHeader header;
        header.sequence = i;
        header.timestamp = i * 3000U;
        std::vector<std::uint8_t> packet;
        const auto& payload = i == 0 ? start : single;
        ASSERT_TRUE(append_rtp(packet, header, Bytes(payload.data(), payload.size())).ok());
        packets.push_back(std::move(packet));
    }
    Depacketizer depacketizer(DepacketizedCodec::h264);
    (void)run(depacketizer, packets);
    EXPECT_TRUE(depacketizer.damaged());
}

TEST(Depacketizer, PayloadsThatDoNotParseDamageTheTrack) {
    const std::vector<std::vector<std::uint8_t>> bad_h264 = {
        {0x78, 0x00},  // STAP-A whose size runs past the end
        {0x79, 1, 2},  // STAP-B: interleaved mode is not read
        {0x7c},        // FU-A without its header
    };
    for (const auto& payload : bad_h264) {
        RtpHeader header;
        std::vector<std::uint8_t> packet;
        ASSERT_TRUE(append_rtp(packet, header, Bytes(payload.data(), payload.size())).ok());
        Depacketizer depacketizer(DepacketizedCodec::h264);
        (void)run(depacketizer, {packet});
        EXPECT_TRUE(depacketizer.damaged());
    }
    // An AAC AU header announcing more than the packet holds.
    const std::vector<std::uint8_t> aac = {0x00, 0x10, 0xff, 0xf8, 1, 2};
    RtpHeader header;
    std::vector<std::uint8_t> packet;
    ASSERT_TRUE(append_rtp(packet, header, Bytes(aac.data(), aac.size())).ok());
    Depacketizer depacketizer(DepacketizedCodec::aac);
    (void)run(depacketizer, {packet});
    EXPECT_TRUE(depacketizer.damaged());
    // Not RTP at all.
    Depacketizer garbage(DepacketizedCodec::opus);
    const std::vector<std::uint8_t> junk = {1, 2, 3};
    garbage.feed(Bytes(junk.data(), junk.size()));
    EXPECT_TRUE(garbage.damaged());
}

TEST(Depacketizer, AudioPayloadsAreUnitsAsTheyCome) {
    Depacketizer depacketizer(DepacketizedCodec::pcmu);
    Packets packets;
    for (std::uint16_t i = 0; i < 3; ++i) {
        RtpHeader header;
        header.sequence = i;
        header.timestamp = 160U * i;
        const std::vector<std::uint8_t> payload(160, static_cast<std::uint8_t>(i));
        std::vector<std::uint8_t> packet;
        ASSERT_TRUE(append_rtp(packet, header, Bytes(payload.data(), payload.size())).ok());
        packets.push_back(std::move(packet));
    }
    const auto units = run(depacketizer, packets);
    ASSERT_EQ(units.size(), 3U);
    EXPECT_EQ(units[2].timestamp, 320);
    EXPECT_EQ(units[2].data, Unit(160, 2));
}

}  // namespace
}  // namespace sg::rtp
