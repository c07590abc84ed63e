// AAC mpeg4-generic packetization (RFC 3640 AAC-hbr): AU headers, ADTS stripping, fragmentation.
#include "rtp/aac_packetizer.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace sg::rtp {
namespace {

std::vector<std::uint8_t> frame_of(std::size_t size) {
    std::vector<std::uint8_t> frame(size);
    for (std::size_t i = 0; i < size; ++i)
        frame[i] = static_cast<std::uint8_t>(i * 7 + 1);
    return frame;
}

// ADTS header for AAC LC 44.1 kHz stereo, no CRC, around `payload` octets.
std::vector<std::uint8_t> adts(const std::vector<std::uint8_t>& payload) {
    const std::size_t total = payload.size() + 7;
    std::vector<std::uint8_t> out{0xff,
                                  0xf1,
                                  static_cast<std::uint8_t>((1 << 6) | (4 << 2) | 0),
                                  static_cast<std::uint8_t>((2 << 6) | ((total >> 11) & 0x03)),
                                  static_cast<std::uint8_t>(total >> 3),
                                  static_cast<std::uint8_t>(((total & 0x07) << 5) | 0x1f),
                                  0xfc};
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
}

TEST(AacPacketizer, OneAuPerPacketWithItsHeader) {
    const auto frame = frame_of(300);
    AacPacketizer packetizer;
    PayloadList out;
    ASSERT_TRUE(packetizer.packetize(frame, out));
    ASSERT_EQ(out.size(), 1U);
    const Bytes p = out.payload(0);
    ASSERT_EQ(p.size(), 4 + frame.size());
    EXPECT_EQ(load_be16(p.data()), 16) << "AU-headers-length in bits";
    EXPECT_EQ(load_be16(p.data() + 2) >> 3, 300) << "AU-size";
    EXPECT_EQ(load_be16(p.data() + 2) & 0x07, 0) << "AU-index";
    EXPECT_TRUE(std::equal(frame.begin(), frame.end(), p.begin() + 4));
    EXPECT_TRUE(out.chunk(0).marker);
}

TEST(AacPacketizer, StripsAdtsAndDerivesTheConfig) {
    const auto frame = frame_of(200);
    const auto with_header = adts(frame);
    const auto header = parse_adts_header(with_header);
    ASSERT_TRUE(header);
    EXPECT_EQ(header->frame_size, with_header.size());
    EXPECT_EQ(audio_specific_config(*header), (std::vector<std::uint8_t>{0x12, 0x10}));  // LC, 44.1k, 2ch
    AacPacketizer packetizer;
    PayloadList out;
    ASSERT_TRUE(packetizer.packetize(with_header, out));
    ASSERT_EQ(out.size(), 1U);
    EXPECT_EQ(out.payload(0).size(), 4 + frame.size());
    EXPECT_TRUE(std::equal(frame.begin(), frame.end(), out.payload(0).begin() + 4));
}

TEST(AacPacketizer, FragmentsALargeAuWithTheMarkerOnTheLastPiece) {
    const auto frame = frame_of(3000);
    AacPacketizer packetizer(1000);
    PayloadList out;
    ASSERT_TRUE(packetizer.packetize(frame, out));
    ASSERT_EQ(out.size(), 4U);  // 996 + 996 + 996 + 12
    std::vector<std::uint8_t> joined;
    for (std::size_t i = 0; i < out.size(); ++i) {
        const Bytes p = out.payload(i);
        EXPECT_LE(p.size(), 1000U);
        EXPECT_EQ(load_be16(p.data() + 2) >> 3, 3000) << "every fragment carries the whole AU size";
        EXPECT_EQ(out.chunk(i).marker, i == 3);
        joined.insert(joined.end(), p.begin() + 4, p.end());
    }
    EXPECT_EQ(joined, frame);
}

TEST(AacPacketizer, RejectsEmptyAndOversizedFrames) {
    AacPacketizer packetizer;
    PayloadList out;
    EXPECT_FALSE(packetizer.packetize({}, out));
    EXPECT_FALSE(packetizer.packetize(frame_of(k_max_aac_au_size + 1), out));
    EXPECT_TRUE(packetizer.packetize(frame_of(k_max_aac_au_size), out));
}

TEST(AacPacketizer, FmtpCarriesTheConfigInHex) {
    const std::vector<std::uint8_t> asc{0x12, 0x10};
    EXPECT_EQ(aac_fmtp(asc),
              "streamtype=5;profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3;"
              "config=1210");
}

}  // namespace
}  // namespace sg::rtp
