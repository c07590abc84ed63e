#include "restream/gop_cache.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "restream/rtp_rewriter.hpp"
#include "rtp/rtp_packet.hpp"

namespace sg::proxy {
namespace {

using Clock = GopCache::Clock;
using namespace std::chrono_literals;

const std::vector<std::uint8_t> k_sps{0x67, 0x42, 0x00};
const std::vector<std::uint8_t> k_pps{0x68, 0xce, 0x00};
const std::vector<std::uint8_t> k_idr{0x65, 0x88, 0x00};
const std::vector<std::uint8_t> k_idr_fu_start{0x7c, 0x85, 0x00};
const std::vector<std::uint8_t> k_idr_fu_end{0x7c, 0x45, 0x00};
const std::vector<std::uint8_t> k_p_slice{0x41, 0x9a, 0x00};

// An upstream H.264 stream: 25 frames per second, 3600 ticks apart.
struct Upstream {
    std::uint16_t seq = 100;
    std::uint32_t timestamp = 1000;
    std::uint32_t ssrc = 0xabcdef01;
    Clock::time_point now = Clock::time_point{} + 1h;

    std::vector<std::uint8_t> packet(const std::vector<std::uint8_t>& payload) {
        std::vector<std::uint8_t> out;
        rtp::RtpHeader header;
        header.payload_type = 96;
        header.sequence = seq++;
        header.timestamp = timestamp;
        header.ssrc = ssrc;
        EXPECT_TRUE(rtp::append_rtp(out, header, payload).ok());
        return out;
    }
    void next_frame() {
        timestamp += 3600;
        now += 40ms;
    }
};

std::uint16_t seq_of(const std::vector<std::uint8_t>& bytes) {
    return rtp::parse_rtp(bytes)->sequence();
}

std::vector<std::uint16_t> cached_seqs(const GopCache& cache) {
    std::vector<std::uint16_t> out;
    for (const auto& p : cache.packets())
        out.push_back(seq_of(p.bytes));
    return out;
}

TEST(GopCache, HoldsNothingUntilAKeyFrame) {
    GopCache cache(VideoCodec::h264, {});
    Upstream up;
    for (int i = 0; i < 5; ++i) {
        cache.add(up.packet(k_p_slice), up.now);
        up.next_frame();
    }
    EXPECT_FALSE(cache.ready());
    EXPECT_TRUE(cache.packets().empty());
}

TEST(GopCache, StartsAtTheParameterSetsOfTheLastKeyFrame) {
    GopCache cache(VideoCodec::h264, {});
    Upstream up;
    cache.add(up.packet(k_p_slice), up.now);
    up.next_frame();
    // The first GOP: SPS, PPS, IDR of one access unit, then two P frames.
    const auto first = up.seq;
    cache.add(up.packet(k_sps), up.now);
    cache.add(up.packet(k_pps), up.now);
    cache.add(up.packet(k_idr), up.now);
    up.next_frame();
    cache.add(up.packet(k_p_slice), up.now);
    up.next_frame();
    cache.add(up.packet(k_p_slice), up.now);
    ASSERT_TRUE(cache.ready());
    EXPECT_EQ(cache.packets().front().bytes, [&] {
        Upstream copy;
        copy.seq = first;
        copy.timestamp = cache.packets().front().timestamp;
        return copy.packet(k_sps);
    }());
    EXPECT_EQ(cached_seqs(cache),
              (std::vector<std::uint16_t>{first, std::uint16_t(first + 1), std::uint16_t(first + 2),
                                          std::uint16_t(first + 3), std::uint16_t(first + 4)}));
    // The next key frame replaces the GOP; a PPS of an earlier timestamp does not open its access unit.
    up.next_frame();
    cache.add(up.packet(k_pps), up.now);
    up.next_frame();
    const auto second = up.seq;
    cache.add(up.packet(k_idr_fu_start), up.now);
    cache.add(up.packet(k_idr_fu_end), up.now);
    EXPECT_EQ(cached_seqs(cache), (std::vector<std::uint16_t>{second, std::uint16_t(second + 1)}));
    EXPECT_EQ(cache.packets().front().arrival, up.now);
}

TEST(GopCache, FurtherSlicesOfTheSameKeyFrameStayInItsGop) {
    GopCache cache(VideoCodec::h264, {});
    Upstream up;
    cache.add(up.packet(k_idr), up.now);
    cache.add(up.packet(k_idr), up.now);  // second slice, same picture
    EXPECT_EQ(cache.packets().size(), 2U);
    up.next_frame();
    cache.add(up.packet(k_idr), up.now);  // the next IDR picture
    EXPECT_EQ(cache.packets().size(), 1U);
}

TEST(GopCache, AGopOverTheLimitIsNotHeldAndTheNextOneIs) {
    GopCacheLimits limits;
    limits.max_packets = 4;
    GopCache cache(VideoCodec::h264, limits);
    Upstream up;
    cache.add(up.packet(k_idr), up.now);
    for (int i = 0; i < 3; ++i) {
        up.next_frame();
        cache.add(up.packet(k_p_slice), up.now);
    }
    EXPECT_TRUE(cache.ready());
    EXPECT_EQ(cache.packets().size(), 4U);
    up.next_frame();
    cache.add(up.packet(k_p_slice), up.now);  // the fifth packet of the GOP
    EXPECT_FALSE(cache.ready());
    EXPECT_TRUE(cache.packets().empty());
    EXPECT_EQ(cache.over_limit(), 1U);
    up.next_frame();
    cache.add(up.packet(k_p_slice), up.now);  // still the GOP over the limit: nothing
    EXPECT_FALSE(cache.ready());
    up.next_frame();
    const auto next = up.seq;
    cache.add(up.packet(k_sps), up.now);
    cache.add(up.packet(k_idr), up.now);
    ASSERT_TRUE(cache.ready());
    EXPECT_EQ(seq_of(cache.packets().front().bytes), next);
}

TEST(GopCache, ByteLimitCountsToo) {
    GopCacheLimits limits;
    Upstream up;
    const auto one = up.packet(k_idr).size();
    limits.max_bytes = 2 * one;
    GopCache cache(VideoCodec::h264, limits);
    cache.add(up.packet(k_idr), up.now);
    up.next_frame();
    cache.add(up.packet(k_p_slice), up.now);
    EXPECT_TRUE(cache.ready());
    EXPECT_EQ(cache.bytes(), 2 * one);
    up.next_frame();
    cache.add(up.packet(k_p_slice), up.now);
    EXPECT_FALSE(cache.ready());
    EXPECT_EQ(cache.bytes(), 0U);
}

TEST(GopCache, ZeroLimitsTurnItOff) {
    GopCacheLimits limits;
    limits.max_bytes = 0;
    GopCache cache(VideoCodec::h264, limits);
    Upstream up;
    cache.add(up.packet(k_idr), up.now);
    EXPECT_FALSE(cache.ready());
}

TEST(GopCache, ANewUpstreamSsrcStartsOver) {
    GopCache cache(VideoCodec::h264, {});
    Upstream up;
    cache.add(up.packet(k_idr), up.now);
    up.ssrc = 7;
    up.next_frame();
    cache.add(up.packet(k_p_slice), up.now);
    EXPECT_FALSE(cache.ready());
}

TEST(GopCache, AudioKeepsAShortTailOfEveryPacket) {
    GopCacheLimits limits;
    limits.tail = 100ms;
    limits.max_packets = 3;
    GopCache cache(VideoCodec::none, limits);
    Upstream up;
    cache.add(up.packet({0x21}), up.now);
    EXPECT_TRUE(cache.ready());
    for (int i = 0; i < 2; ++i) {
        up.now += 60ms;
        cache.add(up.packet({0x21}), up.now);
    }
    EXPECT_EQ(cache.packets().size(), 2U);  // the first is 120 ms old
    for (int i = 0; i < 4; ++i) {
        up.now += 1ms;
        cache.add(up.packet({0x21}), up.now);
    }
    EXPECT_EQ(cache.packets().size(), 3U);  // the packet limit
    EXPECT_EQ(seq_of(cache.packets().back().bytes), static_cast<std::uint16_t>(up.seq - 1));
}

// A paced reader keeps its place by serial: serials grow by one per stored packet, find() answers for the
// packets held and for the previous GOP's, and a place two GOPs back is gone rather than wrong.
TEST(GopCache, SerialsNameStoredPacketsAndOutliveTheirGop) {
    GopCache cache(VideoCodec::h264, {});
    Upstream up;
    EXPECT_FALSE(cache.add(up.packet(k_p_slice), up.now));  // no key frame yet: not held
    EXPECT_EQ(cache.end_serial(), 0U);
    const auto sps = cache.add(up.packet(k_sps), up.now);
    const auto idr = cache.add(up.packet(k_idr_fu_start), up.now);
    ASSERT_TRUE(sps && idr);
    EXPECT_EQ(*idr, *sps + 1);
    up.next_frame();
    const auto p = cache.add(up.packet(k_p_slice), up.now);
    ASSERT_TRUE(p);
    EXPECT_EQ(cache.end_serial(), *p + 1);
    ASSERT_NE(cache.find(*idr), nullptr);
    EXPECT_EQ(cache.find(*idr)->serial, *idr);
    EXPECT_EQ(seq_of(cache.find(*p)->bytes), seq_of(cache.packets().back().bytes));
    EXPECT_EQ(cache.find(cache.end_serial()), nullptr);  // not stored yet

    up.next_frame();
    const auto next_gop = cache.add(up.packet(k_idr_fu_start), up.now);
    ASSERT_TRUE(next_gop);
    EXPECT_EQ(*next_gop, *p + 1);
    EXPECT_EQ(cache.packets().front().serial, *next_gop);  // a joiner starts at the new key frame
    ASSERT_NE(cache.find(*sps), nullptr);  // while a reader still in the old GOP goes on without a gap
    EXPECT_EQ(cache.find(*p)->serial, *p);

    up.next_frame();
    const auto third_gop = cache.add(up.packet(k_idr_fu_start), up.now);
    ASSERT_TRUE(third_gop);
    EXPECT_EQ(cache.find(*sps), nullptr);  // two GOPs on: gone
    EXPECT_EQ(cache.find(*p), nullptr);
    EXPECT_NE(cache.find(*next_gop), nullptr);
}

// A late joiner gets the cached GOP, then the live packets, through its own rewriter: one continuous stream
// whose first packet carries the numbers its PLAY reply announced.
TEST(GopCache, BurstThenLiveIsOneContinuousStream) {
    GopCache cache(VideoCodec::h264, {});
    Upstream up;
    up.seq = 65530;  // the upstream's numbers wrap during the burst
    for (int i = 0; i < 3; ++i) {
        cache.add(up.packet(k_p_slice), up.now);
        up.next_frame();
    }
    const auto key_timestamp = up.timestamp;
    cache.add(up.packet(k_sps), up.now);
    cache.add(up.packet(k_idr_fu_start), up.now);
    cache.add(up.packet(k_idr_fu_end), up.now);
    for (int i = 0; i < 4; ++i) {
        up.next_frame();
        cache.add(up.packet(k_p_slice), up.now);
    }
    ASSERT_TRUE(cache.ready());

    const PlayerStart start{0x1234, 40000, 500000};
    RtpRewriter rewriter(start, 90000);
    rewriter.anchor(cache.packets().front().timestamp);  // as the player's PLAY does
    EXPECT_EQ(cache.packets().front().timestamp, key_timestamp);
    std::vector<std::vector<std::uint8_t>> sent;
    for (const auto& p : cache.packets()) {
        auto copy = p.bytes;
        ASSERT_TRUE(rewriter.rewrite(copy, up.now));
        sent.push_back(copy);
    }
    for (int i = 0; i < 3; ++i) {
        up.next_frame();
        auto live = up.packet(k_p_slice);
        ASSERT_TRUE(rewriter.rewrite(live, up.now));
        sent.push_back(live);
    }
    ASSERT_EQ(sent.size(), 10U);
    const auto first = rtp::parse_rtp(sent.front());
    EXPECT_EQ(first->sequence(), start.seq);
    EXPECT_EQ(first->timestamp(), start.timestamp);
    EXPECT_TRUE(h264_starts_key_frame(first->payload()));
    for (std::size_t i = 1; i < sent.size(); ++i) {
        const auto prev = rtp::parse_rtp(sent[i - 1]);
        const auto cur = rtp::parse_rtp(sent[i]);
        EXPECT_EQ(cur->sequence(), static_cast<std::uint16_t>(prev->sequence() + 1)) << i;
        const auto step = cur->timestamp() - prev->timestamp();
        EXPECT_TRUE(step == 0 || step == 3600) << i;
        EXPECT_EQ(cur->ssrc(), start.ssrc);
    }
}

}  // namespace
}  // namespace sg::proxy
