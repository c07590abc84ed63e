#pragma once
// Retransmission timeout per RFC 6298 with Karn's algorithm: the caller feeds samples only from fragments
// sent once (a retransmitted fragment's ack is ambiguous), and a backed-off timeout stays backed off until
// such a sample arrives.

#include <chrono>
#include <optional>

namespace sg::mssr {

struct RttConfig {
    std::chrono::microseconds initial_rto{std::chrono::seconds(1)};  // RFC 6298 §2.1
    // RFC 6298 asks for 1 s; live media budgets are a few hundred ms, so like Linux TCP we use 200 ms.
    // Losses are mostly repaired by gap acks long before this fires.
    std::chrono::microseconds min_rto{std::chrono::milliseconds(200)};
    std::chrono::microseconds max_rto{std::chrono::seconds(60)};  // RFC 6298 §2.5
    std::chrono::microseconds granularity{std::chrono::milliseconds(1)};
};

class RttEstimator {
public:
    explicit RttEstimator(RttConfig config = {}) noexcept : config_(config), rto_(config.initial_rto) {}

    // One RTT measurement from a fragment transmitted exactly once (Karn). Resets any backoff.
    void on_sample(std::chrono::microseconds rtt) noexcept;
    // A retransmission timer expired: double the timeout (§5.5), up to max_rto.
    void on_timeout() noexcept;

    std::chrono::microseconds rto() const noexcept { return rto_; }
    bool has_sample() const noexcept { return srtt_.has_value(); }
    // The smoothed RTT, or the current RTO while there is no sample.
    std::chrono::microseconds srtt() const noexcept { return srtt_.value_or(rto_); }
    std::chrono::microseconds rttvar() const noexcept { return rttvar_; }

private:
    RttConfig config_;
    std::optional<std::chrono::microseconds> srtt_;
    std::chrono::microseconds rttvar_{0};
    std::chrono::microseconds rto_;
};

}  // namespace sg::mssr
