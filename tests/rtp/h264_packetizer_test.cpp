// H.264 packetization (RFC 6184) checked by depacketizing what it produced: the NAL units that come back
// out of single-NAL, STAP-A and FU-A payloads must be exactly the ones that went in.
#include "rtp/h264_packetizer.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace sg::rtp {
namespace {

using Nal = std::vector<std::uint8_t>;

Nal make_nal(std::uint8_t header, std::size_t size) {
    Nal nal(size);
    nal[0] = header;
    for (std::size_t i = 1; i < size; ++i)
        nal[i] = static_cast<std::uint8_t>(i * 31 + size);
    return nal;
}

std::vector<std::uint8_t> avcc(const std::vector<Nal>& nals) {
    std::vector<std::uint8_t> out;
    for (const auto& nal : nals) {
        const auto n = static_cast<std::uint32_t>(nal.size());
        out.insert(out.end(), {static_cast<std::uint8_t>(n >> 24), static_cast<std::uint8_t>(n >> 16),
                               static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)});
        out.insert(out.end(), nal.begin(), nal.end());
    }
    return out;
}

std::vector<std::uint8_t> annex_b(const std::vector<Nal>& nals) {
    std::vector<std::uint8_t> out;
    for (const auto& nal : nals) {
        out.insert(out.end(), {0, 0, 0, 1});
        out.insert(out.end(), nal.begin(), nal.end());
    }
    return out;
}

// A receiver per RFC 6184 §5.6-5.8: rebuilds NAL units; fails the test on protocol violations.
std::vector<Nal> depacketize(const PayloadList& payloads, std::size_t max_payload) {
    std::vector<Nal> nals;
    Nal fragment;
    bool in_fu = false;
    for (std::size_t i = 0; i < payloads.size(); ++i) {
        const Bytes p = payloads.payload(i);
        EXPECT_LE(p.size(), max_payload);
        EXPECT_EQ(payloads.chunk(i).marker, i + 1 == payloads.size()) << "marker only on the last packet";
        const std::uint8_t type = p[0] & 0x1f;
        if (type == 24) {
            std::size_t at = 1;
            while (at + 2 <= p.size()) {
                const std::size_t n = (std::size_t{p[at]} << 8) | p[at + 1];
                at += 2;
                EXPECT_LE(at + n, p.size());
                nals.emplace_back(p.begin() + static_cast<std::ptrdiff_t>(at),
                                  p.begin() + static_cast<std::ptrdiff_t>(at + n));
                at += n;
            }
            EXPECT_EQ(at, p.size());
        } else if (type == 28) {
            const bool start = (p[1] & 0x80) != 0;
            const bool end = (p[1] & 0x40) != 0;
            EXPECT_EQ(start, !in_fu);
            if (start) fragment.assign(1, static_cast<std::uint8_t>((p[0] & 0xe0) | (p[1] & 0x1f)));
            fragment.insert(fragment.end(), p.begin() + 2, p.end());
            in_fu = !end;
            if (end) nals.push_back(fragment);
        } else {
            EXPECT_FALSE(in_fu);
            nals.emplace_back(p.begin(), p.end());
        }
    }
    EXPECT_FALSE(in_fu) << "unterminated FU-A";
    return nals;
}

TEST(H264Packetizer, SmallNalsGoAloneAndLargeOnesAsFuA) {
    const std::vector<Nal> nals{make_nal(0x06, 20), make_nal(0x41, 1399), make_nal(0x41, 1401),
                                make_nal(0x41, 5000)};
    H264Packetizer packetizer(H264Config{4, {}, {}}, 1400);
    PayloadList out;
    const auto au = avcc(nals);
    ASSERT_TRUE(packetizer.packetize(au, out));
    EXPECT_EQ(out.size(), 2 + 2 + 4);  // 5000-1 bytes in fragments of 1398
    EXPECT_EQ(depacketize(out, 1400), nals);
}

TEST(H264Packetizer, AnnexBInputWithThreeAndFourByteStartCodes) {
    const std::vector<Nal> nals{make_nal(0x09, 2), make_nal(0x65, 3000)};
    auto stream = annex_b(nals);
    stream.erase(stream.begin());  // the first start code becomes 00 00 01
    H264Packetizer packetizer(H264Config{}, 1200);
    PayloadList out;
    ASSERT_TRUE(packetizer.packetize(stream, out));
    EXPECT_EQ(depacketize(out, 1200), nals);
}

TEST(H264Packetizer, ParameterSetsPrecedeIdrAsStapA) {
    const Nal sps = make_nal(0x67, 12);
    const Nal pps = make_nal(0x68, 4);
    const Nal idr = make_nal(0x65, 100);
    const Nal non_idr = make_nal(0x41, 100);
    H264Packetizer packetizer(H264Config{4, {sps}, {pps}});
    PayloadList out;
    ASSERT_TRUE(packetizer.packetize(avcc({idr}), out));
    ASSERT_EQ(out.size(), 2U);
    EXPECT_EQ(out.payload(0)[0] & 0x1f, 24);
    EXPECT_EQ(out.payload(0)[0] & 0x60, 0x60) << "STAP-A NRI is the highest of its NAL units";
    EXPECT_EQ(depacketize(out, 1400), (std::vector<Nal>{sps, pps, idr}));
    ASSERT_TRUE(packetizer.packetize(avcc({non_idr}), out));
    EXPECT_EQ(depacketize(out, 1400), std::vector<Nal>{non_idr});
}

TEST(H264Packetizer, InBandParameterSetsAreNotRepeated) {
    const Nal sps = make_nal(0x67, 12);
    const Nal pps = make_nal(0x68, 4);
    const Nal idr = make_nal(0x65, 100);
    H264Packetizer packetizer(H264Config{});
    PayloadList out;
    ASSERT_TRUE(packetizer.packetize(annex_b({sps, pps, idr}), out));
    EXPECT_EQ(depacketize(out, 1400), (std::vector<Nal>{sps, pps, idr}));
    // Learned in-band, so a later IDR without them gets them in a STAP-A.
    ASSERT_TRUE(packetizer.packetize(annex_b({idr}), out));
    EXPECT_EQ(depacketize(out, 1400), (std::vector<Nal>{sps, pps, idr}));
}

TEST(H264Packetizer, SkipsNalTypesRtpWouldMisread) {
    const Nal slice = make_nal(0x41, 30);
    H264Packetizer packetizer(H264Config{4, {}, {}});
    PayloadList out;
    ASSERT_TRUE(
        packetizer.packetize(avcc({make_nal(0x1c, 10), slice, make_nal(0x00, 5), make_nal(0x18, 9)}), out));
    EXPECT_EQ(depacketize(out, 1400), std::vector<Nal>{slice});
}

TEST(H264Packetizer, RejectsTruncatedLengthPrefix) {
    auto au = avcc({make_nal(0x41, 50)});
    au.pop_back();
    H264Packetizer packetizer(H264Config{4, {}, {}});
    PayloadList out;
    EXPECT_FALSE(packetizer.packetize(au, out));
    EXPECT_TRUE(out.empty());
}

TEST(H264Extradata, ParsesAvcc) {
    const Nal sps{0x67, 0x64, 0x00, 0x1f, 0xac};
    const Nal pps{0x68, 0xeb, 0xe3};
    std::vector<std::uint8_t> record{1, 0x64, 0x00, 0x1f, 0xff, 0xe1, 0, 5};
    record.insert(record.end(), sps.begin(), sps.end());
    record.insert(record.end(), {1, 0, 3});
    record.insert(record.end(), pps.begin(), pps.end());
    const auto config = parse_h264_extradata(record);
    ASSERT_TRUE(config);
    EXPECT_EQ(config->length_size, 4U);
    EXPECT_EQ(config->sps, std::vector<Nal>{sps});
    EXPECT_EQ(config->pps, std::vector<Nal>{pps});
    EXPECT_EQ(h264_profile_level_id(*config), "64001f");
    record.pop_back();
    EXPECT_FALSE(parse_h264_extradata(record));
}

TEST(H264Extradata, ParsesAnnexB) {
    const Nal sps{0x67, 0x42, 0xc0, 0x1e};
    const Nal pps{0x68, 0xce};
    const auto config = parse_h264_extradata(annex_b({sps, pps}));
    ASSERT_TRUE(config);
    EXPECT_EQ(config->length_size, 0U);
    EXPECT_EQ(config->sps, std::vector<Nal>{sps});
    EXPECT_EQ(config->pps, std::vector<Nal>{pps});
    EXPECT_EQ(h264_profile_level_id(*config), "42c01e");
}

}  // namespace
}  // namespace sg::rtp
