#include "restream/upstream_silence.hpp"

#include <algorithm>
#include <cstdio>

namespace sg::proxy {

std::string SilenceVerdict::describe() const {
    if (bye) return "RTCP BYE";
    char text[64];
    std::snprintf(text, sizeof text, "silent for %.1f s, %.0f intervals",
                  std::chrono::duration<double>(silent_for).count(), intervals);
    return text;
}

void UpstreamSilence::on_packet(Clock::time_point arrival) noexcept {
    if (any_packet_) {
        // Reordered timestamps from the caller would make a negative gap: count it as none.
        gaps_[gap_count_ % k_window] = std::max(arrival - last_packet_, Clock::duration::zero());
        ++gap_count_;
    }
    any_packet_ = true;
    last_packet_ = std::max(last_packet_, arrival);
}

std::optional<UpstreamSilence::Clock::duration> UpstreamSilence::typical_gap() const noexcept {
    if (gap_count_ < k_min_gaps) return std::nullopt;
    const auto known = std::min(gap_count_, k_window);
    return *std::max_element(gaps_.begin(), gaps_.begin() + static_cast<std::ptrdiff_t>(known));
}

UpstreamSilence::Clock::duration UpstreamSilence::timeout() const noexcept {
    const Clock::duration ceiling = options_.ceiling;
    const auto gap = typical_gap();
    if (!gap) return ceiling;
    return std::clamp<Clock::duration>(*gap * options_.intervals, options_.floor, ceiling);
}

std::optional<SilenceVerdict> UpstreamSilence::check(Clock::time_point now) const noexcept {
    if (bye_) return SilenceVerdict{.bye = true};
    const auto silent_for = now - last_packet_;
    if (silent_for < timeout()) return std::nullopt;
    SilenceVerdict verdict;
    verdict.silent_for = silent_for;
    const auto gap = typical_gap();
    verdict.intervals = gap && gap->count() > 0
                            ? std::chrono::duration<double>(silent_for) / std::chrono::duration<double>(*gap)
                            : 0.0;
    return verdict;
}

}  // namespace sg::proxy
