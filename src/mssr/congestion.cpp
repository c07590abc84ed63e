#include "mssr/congestion.hpp"

#include <algorithm>
#include <limits>

namespace sg::mssr {

CongestionControl::CongestionControl(CongestionConfig config) noexcept
    : config_(config),
      cwnd_(std::max(config.initial_window_packets, config.min_window_packets) * config.mss),
      ssthresh_(std::numeric_limits<std::size_t>::max()) {}

void CongestionControl::on_ack(std::size_t acked, bool window_limited) noexcept {
    round_acked_ += (acked + config_.mss - 1) / config_.mss;
    // The loss fraction is over roughly the last two windows: older history decays by half.
    const std::size_t horizon = std::max<std::size_t>(16, 2 * cwnd_ / config_.mss);
    if (round_acked_ + round_lost_ > horizon) {
        round_acked_ /= 2;
        round_lost_ /= 2;
    }
    if (!window_limited || acked == 0) return;
    if (cwnd_ < ssthresh_) {
        // Slow start with appropriate byte counting (RFC 3465): our feedback acks many fragments at once.
        cwnd_ += acked;
    } else {
        // Congestion avoidance: about one MSS per window of acked data.
        cwnd_ += std::max<std::size_t>(1, config_.mss * acked / cwnd_);
    }
}

void CongestionControl::on_loss(std::int64_t sequence, std::int64_t next_sequence) noexcept {
    ++round_lost_;
    if (recovering_ && sequence < recovery_end_) return;  // same loss event as the last decrease
    if (config_.loss_tolerance > 0.0) {
        const double total = static_cast<double>(round_acked_ + round_lost_);
        if (static_cast<double>(round_lost_) < config_.loss_tolerance * total) return;
    }
    ++loss_events_;
    ssthresh_ = std::max(cwnd_ / 2, min_window());
    cwnd_ = ssthresh_;
    recovering_ = true;
    recovery_end_ = next_sequence;
    round_acked_ = 0;
    round_lost_ = 0;
}

void CongestionControl::on_timeout(std::size_t in_flight, std::int64_t next_sequence) noexcept {
    ++loss_events_;
    ssthresh_ = std::max(in_flight / 2, min_window());
    cwnd_ = config_.mss;  // RFC 5681 §3.1: the loss window is one segment
    recovering_ = true;
    recovery_end_ = next_sequence;
    round_acked_ = 0;
    round_lost_ = 0;
}

}  // namespace sg::mssr
