#include "restream/rtp_rewriter.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "rtp/rtp_packet.hpp"

namespace sg::proxy {
namespace {

using Clock = RtpRewriter::Clock;

std::vector<std::uint8_t> packet(std::uint16_t seq, std::uint32_t timestamp, std::uint32_t ssrc,
                                 std::size_t payload_size = 10) {
    std::vector<std::uint8_t> out;
    const std::vector<std::uint8_t> payload(payload_size, 0xab);
    rtp::RtpHeader header;
    header.payload_type = 96;
    header.sequence = seq;
    header.timestamp = timestamp;
    header.ssrc = ssrc;
    EXPECT_TRUE(rtp::append_rtp(out, header, payload).ok());
    return out;
}

struct Fields {
    std::uint16_t seq;
    std::uint32_t timestamp;
    std::uint32_t ssrc;
};

Fields fields(const std::vector<std::uint8_t>& bytes) {
    const auto view = rtp::parse_rtp(bytes);
    EXPECT_TRUE(view.ok());
    return {view->sequence(), view->timestamp(), view->ssrc()};
}

TEST(RtpRewriter, FirstPacketCarriesTheStartValuesAndLaterOnesKeepTheirDistance) {
    RtpRewriter rewriter({0x11223344, 65530, 4000000000U}, 90000);
    const auto t0 = Clock::now();
    auto first = packet(100, 5000, 0xdeadbeef);
    ASSERT_TRUE(rewriter.rewrite(first, t0));
    const auto f1 = fields(first);
    EXPECT_EQ(f1.seq, 65530);
    EXPECT_EQ(f1.timestamp, 4000000000U);
    EXPECT_EQ(f1.ssrc, 0x11223344U);
    // Ten packets later and 3000 ticks on, across the 16-bit sequence and 32-bit timestamp wrap.
    auto later = packet(110, 5000 + 400000000U, 0xdeadbeef);
    ASSERT_TRUE(rewriter.rewrite(later, t0));
    const auto f2 = fields(later);
    EXPECT_EQ(f2.seq, static_cast<std::uint16_t>(65530 + 10));
    EXPECT_EQ(f2.timestamp, static_cast<std::uint32_t>(4000000000U + 400000000U));
    EXPECT_EQ(rewriter.packets(), 2U);
    EXPECT_EQ(rewriter.payload_octets(), 20U);
}

TEST(RtpRewriter, PayloadIsUntouched) {
    RtpRewriter rewriter({1, 2, 3}, 90000);
    auto bytes = packet(7, 8, 9, 32);
    const auto before = std::vector<std::uint8_t>(bytes.begin() + 12, bytes.end());
    ASSERT_TRUE(rewriter.rewrite(bytes, Clock::now()));
    EXPECT_EQ(std::vector<std::uint8_t>(bytes.begin() + 12, bytes.end()), before);
}

TEST(RtpRewriter, NotRtpIsRefusedAndLeftAlone) {
    RtpRewriter rewriter({1, 2, 3}, 90000);
    std::vector<std::uint8_t> junk{0x00, 0x01, 0x02};
    EXPECT_FALSE(rewriter.rewrite(junk, Clock::now()));
    EXPECT_EQ(junk, (std::vector<std::uint8_t>{0x00, 0x01, 0x02}));
    EXPECT_FALSE(rewriter.started());
}

TEST(RtpRewriter, NewUpstreamSsrcContinuesSequenceAndAdvancesTimestampByWallClock) {
    RtpRewriter rewriter({5, 1000, 50000}, 90000);
    const auto t0 = Clock::now();
    auto a = packet(20, 700, 0xaaaa);
    ASSERT_TRUE(rewriter.rewrite(a, t0));
    // The upstream reconnected two seconds later with unrelated numbers.
    auto b = packet(9, 123456789, 0xbbbb);
    ASSERT_TRUE(rewriter.rewrite(b, t0 + std::chrono::seconds(2)));
    const auto fb = fields(b);
    EXPECT_EQ(fb.seq, 1001);
    EXPECT_EQ(fb.timestamp, 50000U + 2 * 90000U);
    EXPECT_EQ(fb.ssrc, 5U);
    auto c = packet(10, 123456789 + 3000, 0xbbbb);
    ASSERT_TRUE(rewriter.rewrite(c, t0 + std::chrono::seconds(2)));
    EXPECT_EQ(fields(c).seq, 1002);
    EXPECT_EQ(fields(c).timestamp, 50000U + 2 * 90000U + 3000U);
}

TEST(RtpRewriter, ResyncWithTheSameSsrcAlsoRebases) {
    RtpRewriter rewriter({5, 1000, 50000}, 8000);
    const auto t0 = Clock::now();
    auto a = packet(20, 700, 0xaaaa);
    ASSERT_TRUE(rewriter.rewrite(a, t0));
    rewriter.resync();
    auto b = packet(60000, 1, 0xaaaa);
    ASSERT_TRUE(rewriter.rewrite(b, t0 + std::chrono::milliseconds(500)));
    EXPECT_EQ(fields(b).seq, 1001);
    EXPECT_EQ(fields(b).timestamp, 50000U + 4000U);
}

TEST(RtpRewriter, AnchorMapsTheUpstreamTimeOfNowOntoTheStartTimestamp) {
    RtpRewriter rewriter({5, 1000, 50000}, 90000);
    rewriter.anchor(10000);  // upstream is at 10000 now; its next packet, stamped 9000, was captured earlier
    auto a = packet(1, 9000, 0xaaaa);
    ASSERT_TRUE(rewriter.rewrite(a, Clock::now()));
    EXPECT_EQ(fields(a).timestamp, 49000U);
    EXPECT_EQ(fields(a).seq, 1000);
}

TEST(RtpRewriter, SenderInfoFromTheUpstreamSrMapsItsRtpTime) {
    RtpRewriter rewriter({5, 1000, 50000}, 90000);
    const auto t0 = Clock::now();
    auto a = packet(1, 9000, 0xaaaa, 100);
    ASSERT_TRUE(rewriter.rewrite(a, t0));
    rtp::SenderInfo upstream{0x1234567890abcdefULL, 12000, 999, 99999};
    const auto info = rewriter.sender_info(upstream, t0, 42);
    EXPECT_EQ(info.ntp_timestamp, upstream.ntp_timestamp);
    EXPECT_EQ(info.rtp_timestamp, 50000U + 3000U);
    EXPECT_EQ(info.packet_count, 1U);  // the player's own counts, not the upstream's
    EXPECT_EQ(info.octet_count, 100U);
}

TEST(RtpRewriter, SenderInfoWithoutUpstreamSrUsesTheLocalClock) {
    RtpRewriter rewriter({5, 1000, 50000}, 90000);
    const auto t0 = Clock::now();
    auto a = packet(1, 9000, 0xaaaa);
    ASSERT_TRUE(rewriter.rewrite(a, t0));
    const auto info = rewriter.sender_info(std::nullopt, t0 + std::chrono::seconds(1), 42);
    EXPECT_EQ(info.ntp_timestamp, 42U);
    EXPECT_EQ(info.rtp_timestamp, 50000U + 90000U);
}

}  // namespace
}  // namespace sg::proxy
