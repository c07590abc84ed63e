#include "restream/bitrate_meter.hpp"

#include <algorithm>

namespace sg::proxy {
namespace {

// Bits per second of `bytes` over `elapsed` (at least a window long wherever it is called).
std::uint64_t rate(std::uint64_t bytes, BitrateMeter::Clock::duration elapsed) noexcept {
    const auto us =
        std::max<std::int64_t>(std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count(), 1);
    return bytes * 8U * 1'000'000U / static_cast<std::uint64_t>(us);
}

}  // namespace

void BitrateMeter::roll(Clock::time_point now) noexcept {
    const auto elapsed = now - window_start_;
    if (elapsed < k_window) return;
    if (elapsed < 2 * k_window) {
        last_rate_ = rate(window_bytes_, elapsed);
        window_start_ += k_window * (elapsed / k_window);
    } else {
        // A whole window or more without a packet: the stream stopped for a while.
        last_rate_ = 0;
        window_start_ = now;
    }
    window_done_ = true;
    window_bytes_ = 0;
}

void BitrateMeter::add(std::uint64_t bytes, Clock::time_point now) noexcept {
    if (!started_) {
        started_ = true;
        window_start_ = now;
    }
    roll(now);
    window_bytes_ += bytes;
}

std::uint64_t BitrateMeter::bits_per_second(Clock::time_point now) const noexcept {
    if (!started_) return 0;
    const auto since_window = now - window_start_;
    // The current window has run past its end without a packet to close it: judge it now.
    if (since_window >= 2 * k_window) return 0;
    if (since_window >= k_window) {
        return rate(window_bytes_, since_window);
    }
    return window_done_ ? last_rate_ : 0;
}

}  // namespace sg::proxy
