#pragma once
// Notices that a playing upstream went silent (an origin restarting its looped input, a camera rebooting)
// from the stream's own packet rate instead of one fixed timeout: it learns the typical gap between RTP
// packets (the longest of the last k_window gaps, so bursts of a key frame do not make it look faster than
// it is) and declares the upstream silent after `intervals` such gaps without a packet, never sooner than
// `floor` nor later than `ceiling`. An RTCP BYE from the upstream ends it at once. Pure: the caller passes
// arrival times.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace sg::proxy {

struct SilenceOptions {
    std::uint32_t intervals = 8;
    std::chrono::milliseconds floor{1000};
    std::chrono::milliseconds ceiling{10000};  // also the limit while too few gaps are known
};

struct SilenceVerdict {
    bool bye = false;
    std::chrono::steady_clock::duration silent_for{};
    double intervals = 0;  // silent_for in typical gaps
    // For the log line: "RTCP BYE" or "silent for 0.8 s, 8 intervals".
    std::string describe() const;
};

class UpstreamSilence {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::size_t k_window = 64;
    static constexpr std::size_t k_min_gaps = 16;  // fewer known gaps: the ceiling applies

    // `start`: when the upstream started playing (silence before the first packet counts from there).
    explicit UpstreamSilence(Clock::time_point start, SilenceOptions options = {}) noexcept
        : options_(options), last_packet_(start) {}

    // One RTP packet of any track (a store and a comparison: fine on the media path).
    void on_packet(Clock::time_point arrival) noexcept;
    void on_bye() noexcept { bye_ = true; }
    bool bye() const noexcept { return bye_; }

    // The longest recent gap; nothing while fewer than k_min_gaps are known.
    std::optional<Clock::duration> typical_gap() const noexcept;
    // How long without a packet counts as silence now.
    Clock::duration timeout() const noexcept;
    // When the upstream will count as silent if no packet arrives before (the caller's next wake-up).
    Clock::time_point deadline() const noexcept { return last_packet_ + timeout(); }
    // Silent (or said BYE) at `now`; nothing while it plays.
    std::optional<SilenceVerdict> check(Clock::time_point now) const noexcept;

private:
    SilenceOptions options_;
    Clock::time_point last_packet_;
    bool any_packet_ = false;
    bool bye_ = false;
    std::array<Clock::duration, k_window> gaps_{};
    std::size_t gap_count_ = 0;  // total seen; the ring holds the last k_window
};

}  // namespace sg::proxy
