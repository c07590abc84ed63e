#include "mssr/parity_plan.hpp"

#include <algorithm>
#include <cmath>

#include "mssr/cauchy_parity.hpp"

namespace sg::mssr {

double binomial_tail_above(std::size_t n, std::size_t m, double p) noexcept {
    if (m >= n) return 0.0;
    if (p <= 0.0) return 0.0;
    if (p >= 1.0) return 1.0;
    // P(X <= m) by the pmf's recurrence from P(X = 0) = (1 - p)^n; n stays small enough here (at most
    // 2 x 256) that this does not underflow for p <= 0.5.
    double pmf = std::pow(1.0 - p, static_cast<double>(n));
    double cdf = pmf;
    const double ratio = p / (1.0 - p);
    for (std::size_t k = 0; k < m; ++k) {
        pmf *= static_cast<double>(n - k) / static_cast<double>(k + 1) * ratio;
        cdf += pmf;
    }
    return std::max(0.0, 1.0 - cdf);
}

std::optional<std::size_t> parity_count_for(std::size_t count, double loss, double residual) noexcept {
    if (count == 0 || count + 1 > k_cauchy_max_span) return std::nullopt;
    const double p = std::clamp(loss, 0.0, 0.5);
    const std::size_t most = std::min(count, k_cauchy_max_span - count);
    std::size_t m = 1;
    while (m < most && binomial_tail_above(count + m, m, p) > residual)
        ++m;
    return m;
}

std::optional<std::size_t> parity_count_for_value(std::size_t count, double loss, double span,
                                                  double frames_per_datagram) noexcept {
    if (count == 0 || count + 1 > k_cauchy_max_span) return std::nullopt;
    const double p = std::clamp(loss, 0.0, 0.5);
    const std::size_t most = std::min(count, k_cauchy_max_span - count);
    // The least total of both costs, each datagram at frames_per_datagram: a search over every m, since at
    // high loss the first parity fragments of a long ADU save less than the ones after them (one cannot
    // rebuild a frame that usually loses three), so stopping at the first small saving would stop short.
    // At most 128 tails of at most 256 terms each, once per ADU.
    std::size_t best = 0;
    double best_cost = span * binomial_tail_above(count, 0, p);
    for (std::size_t m = 1; m <= most; ++m) {
        const double cost =
            static_cast<double>(m) * frames_per_datagram + span * binomial_tail_above(count + m, m, p);
        if (cost < best_cost) {
            best = m;
            best_cost = cost;
        }
    }
    return best;
}

std::optional<double> LossEstimate::fraction() const noexcept {
    if (fates_ < k_min_fates || total_ <= 0) return std::nullopt;
    return lost_ / total_;
}

void LossEstimate::add(double lost) noexcept {
    constexpr double keep = 1.0 - 1.0 / k_horizon;
    lost_ = lost_ * keep + lost;
    total_ = total_ * keep + 1.0;
    ++fates_;
}

}  // namespace sg::mssr
