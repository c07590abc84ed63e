#include "mssr/rtt_estimator.hpp"

#include <algorithm>

namespace sg::mssr {

void RttEstimator::on_sample(std::chrono::microseconds rtt) noexcept {
    rtt = std::max(rtt, std::chrono::microseconds(0));
    if (!srtt_) {
        // §2.2: the first measurement.
        srtt_ = rtt;
        rttvar_ = rtt / 2;
    } else {
        // §2.3 with alpha = 1/8, beta = 1/4; RTTVAR uses the SRTT from before this update.
        const auto error = *srtt_ > rtt ? *srtt_ - rtt : rtt - *srtt_;
        rttvar_ = (3 * rttvar_ + error) / 4;
        srtt_ = (7 * *srtt_ + rtt) / 8;
    }
    rto_ = std::clamp(*srtt_ + std::max(config_.granularity, 4 * rttvar_), config_.min_rto, config_.max_rto);
}

void RttEstimator::on_timeout() noexcept {
    rto_ = std::min(rto_ * 2, config_.max_rto);
}

}  // namespace sg::mssr
