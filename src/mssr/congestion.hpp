#pragma once
// Window-based congestion control for the MSSR sender: NewReno-style AIMD (RFC 5681) in octets, with slow
// start, at most one multiplicative decrease per round trip (a loss of data sent before the last decrease
// is part of the same event), the RFC 5681 loss window after a retransmission timeout, and growth only
// while the window was actually in use (RFC 7661's idea: an application-limited video sender must not
// inflate a window it never tested).
//
// `loss_tolerance` (default 0: plain TCP behaviour) lets a deployment on a link with known random loss
// ignore loss events whose loss fraction over the last round trip stays below it, as WebRTC's loss-based
// controller does below 2 %; docs/mssr.md discusses what that costs in TCP-friendliness.

#include <cstddef>
#include <cstdint>

namespace sg::mssr {

struct CongestionConfig {
    std::size_t mss = 548;
    std::size_t initial_window_packets = 10;  // RFC 6928
    std::size_t min_window_packets = 2;
    double loss_tolerance = 0.0;
};

class CongestionControl {
public:
    explicit CongestionControl(CongestionConfig config = {}) noexcept;

    // `acked` octets newly acknowledged; `window_limited` when the sender had filled at least half the
    // window since the last feedback.
    void on_ack(std::size_t acked, bool window_limited) noexcept;
    // A fragment sent as number `sequence` (extended) was declared lost by a gap ack. `next_sequence` is
    // the next sequence number the sender will assign: the end of the current round trip.
    void on_loss(std::int64_t sequence, std::int64_t next_sequence) noexcept;
    // The retransmission timer expired with `in_flight` octets outstanding.
    void on_timeout(std::size_t in_flight, std::int64_t next_sequence) noexcept;

    std::size_t window() const noexcept { return cwnd_; }
    std::size_t slow_start_threshold() const noexcept { return ssthresh_; }
    bool in_slow_start() const noexcept { return cwnd_ < ssthresh_; }
    std::uint64_t loss_events() const noexcept { return loss_events_; }

private:
    std::size_t min_window() const noexcept { return config_.min_window_packets * config_.mss; }

    CongestionConfig config_;
    std::size_t cwnd_;
    std::size_t ssthresh_;
    std::int64_t recovery_end_ = 0;  // losses of fragments numbered below this belong to the last event
    bool recovering_ = false;
    std::uint64_t loss_events_ = 0;
    // Loss fraction bookkeeping for loss_tolerance: fragments acked and lost recently (decaying counts).
    std::size_t round_acked_ = 0;
    std::size_t round_lost_ = 0;
};

}  // namespace sg::mssr
