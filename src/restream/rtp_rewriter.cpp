#include "restream/rtp_rewriter.hpp"

#include <algorithm>

#include "rtp/rtp_packet.hpp"

namespace sg::proxy {

RtpRewriter::RtpRewriter(PlayerStart start, std::uint32_t clock_rate) noexcept
    : start_(start), clock_rate_(clock_rate == 0 ? 90000 : clock_rate) {}

void RtpRewriter::anchor(std::uint32_t upstream_timestamp_now) noexcept {
    if (have_mapping_) return;
    timestamp_offset_ = start_.timestamp - upstream_timestamp_now;
    anchored_ = true;
}

std::uint32_t RtpRewriter::elapsed_ticks(Clock::time_point from, Clock::time_point to) const noexcept {
    if (to <= from) return 0;
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(to - from).count();
    return static_cast<std::uint32_t>(static_cast<std::uint64_t>(us) * clock_rate_ / 1000000U);
}

bool RtpRewriter::rewrite(std::span<std::uint8_t> packet, Clock::time_point now) noexcept {
    if (packet.size() < rtp::k_fixed_header_size) return false;
    return rewrite_head(Bytes(packet.data(), packet.size()), packet.first<rtp::k_fixed_header_size>(), now);
}

bool RtpRewriter::rewrite_head(Bytes packet, std::span<std::uint8_t, rtp::k_fixed_header_size> head,
                               Clock::time_point now) noexcept {
    const auto view = rtp::parse_rtp(packet);
    if (!view) return false;
    const std::uint16_t seq = view->sequence();
    const std::uint32_t timestamp = view->timestamp();
    if (!have_mapping_) {
        seq_offset_ = static_cast<std::uint16_t>(start_.seq - seq);
        if (!anchored_) timestamp_offset_ = start_.timestamp - timestamp;
        upstream_ssrc_ = view->ssrc();
        have_mapping_ = true;
    } else if (resync_ || view->ssrc() != upstream_ssrc_) {
        // A new upstream stream: its numbers are unrelated to the old one's. Continue right after the last
        // packet the player got, and let the timestamp advance with the wall clock meanwhile.
        seq_offset_ = static_cast<std::uint16_t>(last_seq_ + 1U - seq);
        const std::uint32_t advance = std::max<std::uint32_t>(1, elapsed_ticks(last_time_, now));
        timestamp_offset_ = last_timestamp_ + advance - timestamp;
        upstream_ssrc_ = view->ssrc();
    }
    resync_ = false;
    last_seq_ = static_cast<std::uint16_t>(seq + seq_offset_);
    last_timestamp_ = timestamp + timestamp_offset_;
    last_time_ = now;
    rtp::set_sequence(head, last_seq_);
    rtp::set_timestamp(head, last_timestamp_);
    rtp::set_ssrc(head, start_.ssrc);
    ++packets_;
    payload_octets_ += static_cast<std::uint32_t>(view->payload().size());
    return true;
}

rtp::SenderInfo RtpRewriter::sender_info(const std::optional<rtp::SenderInfo>& upstream_sr,
                                         Clock::time_point now, std::uint64_t ntp_now) const noexcept {
    rtp::SenderInfo info;
    info.packet_count = packets_;
    info.octet_count = payload_octets_;
    if (upstream_sr) {
        // The upstream's NTP/RTP pair, moved into our timestamp space: the relation between wall clock and
        // media clock is the origin's, which is what lets players synchronise tracks.
        info.ntp_timestamp = upstream_sr->ntp_timestamp;
        info.rtp_timestamp = map_timestamp(upstream_sr->rtp_timestamp);
    } else {
        info.ntp_timestamp = ntp_now;
        info.rtp_timestamp = last_timestamp_ + elapsed_ticks(last_time_, now);
    }
    return info;
}

}  // namespace sg::proxy
