#pragma once
// What the gateway received from one upstream track, for the receiver reports it sends upstream (RFC 3550
// §6.4.2): loss, interarrival jitter and LSR/DLSR of the current upstream SSRC through rtp::ReceiverStats.
// A new SSRC (an upstream restart) starts the statistics afresh. Pure: the caller passes arrival times.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "rtp/receiver_stats.hpp"

namespace sg::proxy {

class UpstreamReception {
public:
    using Clock = std::chrono::steady_clock;

    explicit UpstreamReception(std::uint32_t clock_rate, Clock::time_point epoch = Clock::now()) noexcept
        : clock_rate_(clock_rate), epoch_(epoch) {}

    // One RTP packet of this track (a few additions and a comparison: fine on the media path).
    void on_rtp(std::uint32_t ssrc, std::uint16_t sequence, std::uint32_t rtp_timestamp,
                Clock::time_point arrival) noexcept;
    // A sender report of this track; ignored unless it is from the SSRC being received.
    void on_sender_report(std::uint32_t ssrc, std::uint64_t ntp_timestamp,
                          Clock::time_point arrival) noexcept;

    // A compound RTCP packet: RR from `own_ssrc` with one report block (none before any RTP), then SDES
    // CNAME. Starts a new interval for the fraction lost.
    std::vector<std::uint8_t> make_report(std::uint32_t own_ssrc, std::string_view cname,
                                          Clock::time_point now);

    const std::optional<rtp::ReceiverStats>& stats() const noexcept { return stats_; }

private:
    std::uint32_t clock_rate_;
    Clock::time_point epoch_;
    std::optional<rtp::ReceiverStats> stats_;
};

}  // namespace sg::proxy
