#include "restream/upstream_reception.hpp"

#include <gtest/gtest.h>

#include "rtp/rtcp.hpp"

namespace sg::proxy {
namespace {

using namespace std::chrono_literals;
using Clock = UpstreamReception::Clock;

constexpr std::uint32_t k_own_ssrc = 0x11223344;
constexpr std::uint32_t k_upstream = 0xabcdef01;

// The one report block of the RR in `compound`, or nothing; the SDES CNAME must follow.
std::optional<rtp::ReportBlock> report_block(const std::vector<std::uint8_t>& compound, std::size_t& blocks) {
    const auto parsed = rtp::validate_compound(Bytes(compound.data(), compound.size()));
    EXPECT_TRUE(parsed);
    if (!parsed) return std::nullopt;
    EXPECT_GE(parsed->size(), 2U);
    EXPECT_EQ((*parsed)[0].type, rtp::RtcpType::rr);
    EXPECT_EQ((*parsed)[1].type, rtp::RtcpType::sdes);
    const auto rr = rtp::parse_receiver_report((*parsed)[0]);
    EXPECT_TRUE(rr);
    if (!rr) return std::nullopt;
    EXPECT_EQ(rr->ssrc, k_own_ssrc);
    blocks = rr->reports.size();
    if (rr->reports.empty()) return std::nullopt;
    return rr->reports[0];
}

TEST(UpstreamReception, NoBlockBeforeMedia) {
    UpstreamReception reception(90000, Clock::time_point{});
    std::size_t blocks = 99;
    EXPECT_FALSE(report_block(reception.make_report(k_own_ssrc, "gw", Clock::time_point{} + 1s), blocks));
    EXPECT_EQ(blocks, 0U);
}

TEST(UpstreamReception, ReportsLossHighestSequenceAndDlsr) {
    const Clock::time_point t0{};
    UpstreamReception reception(90000, t0);
    // 100 packets at 25 per second with perfectly regular timing, seq 1000..1099 minus 10 lost ones.
    for (std::uint16_t i = 0; i < 100; ++i) {
        if (i >= 50 && i < 60) continue;
        reception.on_rtp(k_upstream, static_cast<std::uint16_t>(1000 + i), 3600U * i, t0 + 40ms * i);
    }
    const std::uint64_t ntp = 0x0000'1234'5678'9abcULL;
    reception.on_sender_report(0x99999999, 0x1111'2222'3333'4444ULL, t0 + 3s);  // other SSRC: ignored
    reception.on_sender_report(k_upstream, ntp, t0 + 4s);
    std::size_t blocks = 0;
    const auto block = report_block(reception.make_report(k_own_ssrc, "gw", t0 + 4s + 500ms), blocks);
    ASSERT_TRUE(block);
    EXPECT_EQ(blocks, 1U);
    EXPECT_EQ(block->ssrc, k_upstream);
    EXPECT_EQ(block->highest_sequence, 1099U);
    EXPECT_EQ(block->cumulative_lost, 10);
    EXPECT_EQ(block->fraction_lost, 10 * 256 / 100);
    EXPECT_EQ(block->jitter, 0U);  // arrivals exactly on the media clock
    EXPECT_EQ(block->last_sr, rtp::ntp_middle32(ntp));
    EXPECT_EQ(block->delay_since_last_sr, 65536U / 2);  // 0.5 s in 1/65536 s

    // Next interval: nothing lost.
    for (std::uint16_t i = 100; i < 150; ++i)
        reception.on_rtp(k_upstream, static_cast<std::uint16_t>(1000 + i), 3600U * i, t0 + 40ms * i);
    const auto next = report_block(reception.make_report(k_own_ssrc, "gw", t0 + 7s), blocks);
    ASSERT_TRUE(next);
    EXPECT_EQ(next->fraction_lost, 0);
    EXPECT_EQ(next->cumulative_lost, 10);
    EXPECT_EQ(next->highest_sequence, 1149U);
}

TEST(UpstreamReception, JitterFromIrregularArrivals) {
    const Clock::time_point t0{};
    UpstreamReception reception(90000, t0);
    for (std::uint16_t i = 0; i < 200; ++i) {
        const auto wobble = (i % 2 == 0) ? 0ms : 10ms;  // every other packet 10 ms late: 900 units
        reception.on_rtp(k_upstream, i, 3600U * i, t0 + 40ms * i + wobble);
    }
    std::size_t blocks = 0;
    const auto block = report_block(reception.make_report(k_own_ssrc, "gw", t0 + 9s), blocks);
    ASSERT_TRUE(block);
    // |D| is 900 for every pair, so J converges to 900 (RFC 3550 §6.4.1).
    EXPECT_GT(block->jitter, 850U);
    EXPECT_LE(block->jitter, 900U);
}

TEST(UpstreamReception, NewSsrcStartsAfresh) {
    const Clock::time_point t0{};
    UpstreamReception reception(8000, t0);
    for (std::uint16_t i = 0; i < 20; ++i)
        reception.on_rtp(k_upstream, static_cast<std::uint16_t>(i * 2), 160U * i,
                         t0 + 20ms * i);  // half lost
    for (std::uint16_t i = 0; i < 20; ++i)
        reception.on_rtp(0x5555, static_cast<std::uint16_t>(500 + i), 160U * i, t0 + 1s + 20ms * i);
    std::size_t blocks = 0;
    const auto block = report_block(reception.make_report(k_own_ssrc, "gw", t0 + 2s), blocks);
    ASSERT_TRUE(block);
    EXPECT_EQ(block->ssrc, 0x5555U);
    EXPECT_EQ(block->cumulative_lost, 0);
    EXPECT_EQ(block->highest_sequence, 519U);
    EXPECT_EQ(block->last_sr, 0U);
}

}  // namespace
}  // namespace sg::proxy
