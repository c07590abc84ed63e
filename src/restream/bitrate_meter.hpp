#pragma once
// The bit rate of a stream as an operator wants to see it (the admin API's mount list): bytes counted over
// one-second windows, the last complete window reported. A stream that stopped reads as 0 once a window has
// passed without packets, instead of holding its last rate. Pure: the caller passes the times.

#include <chrono>
#include <cstdint>

namespace sg::proxy {

class BitrateMeter {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr Clock::duration k_window = std::chrono::seconds{1};

    void add(std::uint64_t bytes, Clock::time_point now) noexcept;
    // Bits per second of the last complete window; 0 before one, or when the stream stopped.
    std::uint64_t bits_per_second(Clock::time_point now) const noexcept;

private:
    void roll(Clock::time_point now) noexcept;

    bool started_ = false;
    Clock::time_point window_start_{};
    std::uint64_t window_bytes_ = 0;
    std::uint64_t last_rate_ = 0;
    bool window_done_ = false;  // a window has completed: last_rate_ means something
};

}  // namespace sg::proxy
