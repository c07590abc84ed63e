#include "restream/upstream_reception.hpp"

#include <span>

#include "rtp/rtcp.hpp"

namespace sg::proxy {

void UpstreamReception::on_rtp(std::uint32_t ssrc, std::uint16_t sequence, std::uint32_t rtp_timestamp,
                               Clock::time_point arrival) noexcept {
    if (!stats_ || stats_->ssrc() != ssrc) stats_.emplace(ssrc);
    (void)stats_->on_packet(sequence, rtp_timestamp, rtp::to_rtp_units(arrival - epoch_, clock_rate_));
}

void UpstreamReception::on_sender_report(std::uint32_t ssrc, std::uint64_t ntp_timestamp,
                                         Clock::time_point arrival) noexcept {
    if (stats_ && stats_->ssrc() == ssrc) stats_->on_sender_report(ntp_timestamp, arrival);
}

std::vector<std::uint8_t> UpstreamReception::make_report(std::uint32_t own_ssrc, std::string_view cname,
                                                         Clock::time_point now) {
    std::vector<std::uint8_t> compound;
    std::optional<rtp::ReportBlock> block;
    if (stats_) block = stats_->make_report_block(now);
    const auto blocks =
        block ? std::span<const rtp::ReportBlock>(&*block, 1) : std::span<const rtp::ReportBlock>();
    (void)rtp::append_receiver_report(compound, own_ssrc, blocks);
    (void)rtp::append_sdes_cname(compound, own_ssrc, cname);
    return compound;
}

}  // namespace sg::proxy
