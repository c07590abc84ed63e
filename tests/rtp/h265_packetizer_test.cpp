// H.265 packetization (RFC 7798) checked by depacketizing what it produced: the NAL units that come back
// out of single-NAL, AP and FU payloads must be exactly the ones that went in.
#include "rtp/h265_packetizer.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace sg::rtp {
namespace {

using Nal = std::vector<std::uint8_t>;

// A NAL unit of `type` with nuh_layer_id 0 and TemporalId `tid` (nuh_temporal_id_plus1 = tid + 1).
Nal make_nal(std::uint8_t type, std::size_t size, std::uint8_t tid = 0) {
    Nal nal(size);
    nal[0] = static_cast<std::uint8_t>(type << 1);
    nal[1] = static_cast<std::uint8_t>(tid + 1);
    for (std::size_t i = 2; i < size; ++i)
        nal[i] = static_cast<std::uint8_t>(i * 31 + size);
    return nal;
}

constexpr std::uint8_t k_trail_r = 1;
constexpr std::uint8_t k_idr_w_radl = 19;
constexpr std::uint8_t k_cra = 21;
constexpr std::uint8_t k_vps = 32;
constexpr std::uint8_t k_sps = 33;
constexpr std::uint8_t k_pps = 34;
constexpr std::uint8_t k_aud = 35;
constexpr std::uint8_t k_prefix_sei = 39;

std::vector<std::uint8_t> length_prefixed(const std::vector<Nal>& nals) {
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

std::uint8_t type_of(Bytes p) {
    return static_cast<std::uint8_t>((p[0] >> 1) & 0x3f);
}

// A receiver per RFC 7798 §4.4 (no DONL): rebuilds NAL units; fails the test on protocol violations.
std::vector<Nal> depacketize(const PayloadList& payloads, std::size_t max_payload) {
    std::vector<Nal> nals;
    Nal fragment;
    bool in_fu = false;
    for (std::size_t i = 0; i < payloads.size(); ++i) {
        const Bytes p = payloads.payload(i);
        EXPECT_LE(p.size(), max_payload);
        EXPECT_GE(p.size(), 3U);
        EXPECT_EQ(payloads.chunk(i).marker, i + 1 == payloads.size()) << "marker only on the last packet";
        const std::uint8_t type = type_of(p);
        if (type == 48) {
            EXPECT_FALSE(in_fu);
            std::size_t at = 2;
            std::size_t count = 0;
            while (at + 2 <= p.size()) {
                const std::size_t n = (std::size_t{p[at]} << 8) | p[at + 1];
                at += 2;
                EXPECT_LE(at + n, p.size());
                nals.emplace_back(p.begin() + static_cast<std::ptrdiff_t>(at),
                                  p.begin() + static_cast<std::ptrdiff_t>(at + n));
                at += n;
                ++count;
            }
            EXPECT_EQ(at, p.size());
            EXPECT_GE(count, 2U) << "an AP carries at least two NAL units";
        } else if (type == 49) {
            const bool start = (p[2] & 0x80) != 0;
            const bool end = (p[2] & 0x40) != 0;
            EXPECT_EQ(start, !in_fu);
            EXPECT_FALSE(start && end) << "an FU must not carry a whole NAL unit";
            if (start) {
                fragment.assign({static_cast<std::uint8_t>((p[0] & 0x81) | ((p[2] & 0x3f) << 1)), p[1]});
            }
            fragment.insert(fragment.end(), p.begin() + 3, p.end());
            in_fu = !end;
            if (end) nals.push_back(fragment);
        } else {
            EXPECT_FALSE(in_fu);
            EXPECT_LT(type, 48);
            nals.emplace_back(p.begin(), p.end());
        }
    }
    EXPECT_FALSE(in_fu) << "unterminated FU";
    return nals;
}

TEST(H265Packetizer, SmallNalsGoAloneAndLargeOnesAsFu) {
    const std::vector<Nal> nals{make_nal(k_prefix_sei, 20), make_nal(k_trail_r, 1400),
                                make_nal(k_trail_r, 1401), make_nal(k_trail_r, 5000, 2)};
    H265Packetizer packetizer(H265Config{4, {}, {}, {}}, 1400);
    PayloadList out;
    ASSERT_TRUE(packetizer.packetize(length_prefixed(nals), out));
    EXPECT_EQ(out.size(), 2 + 2 + 4);  // 5000-2 bytes in fragments of 1397
    EXPECT_EQ(depacketize(out, 1400), nals);
    EXPECT_EQ(out.payload(4)[1], 3) << "FU payload header keeps LayerId and TID";
}

TEST(H265Packetizer, AnnexBInputWithThreeAndFourByteStartCodes) {
    const std::vector<Nal> nals{make_nal(k_aud, 3), make_nal(k_trail_r, 3000)};
    auto stream = annex_b(nals);
    stream.erase(stream.begin());  // the first start code becomes 00 00 01
    H265Packetizer packetizer(H265Config{}, 1200);
    PayloadList out;
    ASSERT_TRUE(packetizer.packetize(stream, out));
    EXPECT_EQ(depacketize(out, 1200), nals);
}

TEST(H265Packetizer, ParameterSetsPrecedeIrapAsAggregationPacket) {
    const Nal vps = make_nal(k_vps, 24);
    const Nal sps = make_nal(k_sps, 40);
    const Nal pps = make_nal(k_pps, 7);
    const Nal trail = make_nal(k_trail_r, 100, 1);
    H265Packetizer packetizer(H265Config{4, {vps}, {sps}, {pps}});
    PayloadList out;
    for (const std::uint8_t irap : {k_idr_w_radl, k_cra}) {
        const Nal picture = make_nal(irap, 100);
        ASSERT_TRUE(packetizer.packetize(length_prefixed({picture}), out));
        ASSERT_EQ(out.size(), 2U);
        EXPECT_EQ(type_of(out.payload(0)), 48);
        EXPECT_EQ(out.payload(0)[1], 1) << "AP: LayerId 0, TID the lowest (0)";
        EXPECT_EQ(depacketize(out, 1400), (std::vector<Nal>{vps, sps, pps, picture}));
    }
    ASSERT_TRUE(packetizer.packetize(length_prefixed({trail}), out));
    EXPECT_EQ(depacketize(out, 1400), std::vector<Nal>{trail});
}

TEST(H265Packetizer, LargeParameterSetsAreSentOneByOne) {
    const Nal vps = make_nal(k_vps, 24);
    const Nal sps = make_nal(k_sps, 300);
    const Nal pps = make_nal(k_pps, 7);
    const Nal idr = make_nal(k_idr_w_radl, 100);
    H265Packetizer packetizer(H265Config{4, {vps}, {sps}, {pps}}, 200);
    PayloadList out;
    ASSERT_TRUE(packetizer.packetize(length_prefixed({idr}), out));
    EXPECT_EQ(depacketize(out, 200), (std::vector<Nal>{vps, sps, pps, idr}));
}

TEST(H265Packetizer, InBandParameterSetsAreNotRepeated) {
    const Nal vps = make_nal(k_vps, 24);
    const Nal sps = make_nal(k_sps, 40);
    const Nal pps = make_nal(k_pps, 7);
    const Nal idr = make_nal(k_idr_w_radl, 100);
    H265Packetizer packetizer(H265Config{});
    PayloadList out;
    ASSERT_TRUE(packetizer.packetize(annex_b({vps, sps, pps, idr}), out));
    EXPECT_EQ(depacketize(out, 1400), (std::vector<Nal>{vps, sps, pps, idr}));
    // Learned in-band, so a later IRAP picture without them gets them in an AP.
    ASSERT_TRUE(packetizer.packetize(annex_b({idr}), out));
    EXPECT_EQ(type_of(out.payload(0)), 48);
    EXPECT_EQ(depacketize(out, 1400), (std::vector<Nal>{vps, sps, pps, idr}));
}

TEST(H265Packetizer, SkipsNalTypesRtpWouldMisreadAndTruncatedHeaders) {
    const Nal slice = make_nal(k_trail_r, 30);
    H265Packetizer packetizer(H265Config{4, {}, {}, {}});
    PayloadList out;
    ASSERT_TRUE(packetizer.packetize(
        length_prefixed({make_nal(48, 10), slice, make_nal(49, 5), make_nal(63, 9), Nal{0x02}}), out));
    EXPECT_EQ(depacketize(out, 1400), std::vector<Nal>{slice});
}

TEST(H265Packetizer, RejectsTruncatedLengthPrefix) {
    auto au = length_prefixed({make_nal(k_trail_r, 50)});
    au.pop_back();
    H265Packetizer packetizer(H265Config{4, {}, {}, {}});
    PayloadList out;
    EXPECT_FALSE(packetizer.packetize(au, out));
    EXPECT_TRUE(out.empty());
}

std::vector<std::uint8_t> hvcc(std::uint8_t length_size_minus_one, const std::vector<Nal>& arrays) {
    std::vector<std::uint8_t> record{1,    0x01,
                                     0x60, 0,
                                     0,    0,
                                     0x90, 0,
                                     0,    0,
                                     0,    0,
                                     0x5d, 0xf0,
                                     0x00, 0xfc,
                                     0xfd, 0xf8,
                                     0xf8, 0,
                                     0,    static_cast<std::uint8_t>(0x0c | length_size_minus_one)};
    record.push_back(static_cast<std::uint8_t>(arrays.size()));
    for (const auto& nal : arrays) {
        record.insert(record.end(),
                      {static_cast<std::uint8_t>(0x80 | type_of(nal)), 0, 1,
                       static_cast<std::uint8_t>(nal.size() >> 8), static_cast<std::uint8_t>(nal.size())});
        record.insert(record.end(), nal.begin(), nal.end());
    }
    return record;
}

TEST(H265Extradata, ParsesHvcc) {
    const Nal vps = make_nal(k_vps, 24);
    const Nal sps = make_nal(k_sps, 40);
    const Nal pps = make_nal(k_pps, 7);
    const Nal sei = make_nal(k_prefix_sei, 9);
    auto record = hvcc(3, {vps, sps, pps, sei});
    const auto config = parse_h265_extradata(record);
    ASSERT_TRUE(config);
    EXPECT_EQ(config->length_size, 4U);
    EXPECT_EQ(config->vps, std::vector<Nal>{vps});
    EXPECT_EQ(config->sps, std::vector<Nal>{sps});
    EXPECT_EQ(config->pps, std::vector<Nal>{pps});
    EXPECT_FALSE(parse_h265_extradata(hvcc(2, {vps})));
    EXPECT_EQ(parse_h265_extradata(hvcc(1, {vps}))->length_size, 2U);
    record.pop_back();
    EXPECT_FALSE(parse_h265_extradata(record));
    record.resize(10);
    EXPECT_FALSE(parse_h265_extradata(record));
}

TEST(H265Extradata, ParsesAnnexB) {
    const Nal vps = make_nal(k_vps, 24);
    const Nal sps = make_nal(k_sps, 40);
    const Nal pps = make_nal(k_pps, 7);
    const auto config = parse_h265_extradata(annex_b({vps, sps, pps}));
    ASSERT_TRUE(config);
    EXPECT_EQ(config->length_size, 0U);
    EXPECT_EQ(config->vps, std::vector<Nal>{vps});
    EXPECT_EQ(config->sps, std::vector<Nal>{sps});
    EXPECT_EQ(config->pps, std::vector<Nal>{pps});
}

}  // namespace
}  // namespace sg::rtp
