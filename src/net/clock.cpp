#include "net/clock.hpp"

#include <algorithm>
#include <atomic>
#include <cassert>

namespace sg::net {

namespace {

std::atomic<bool> g_manual{false};
std::atomic<Clock::rep> g_manual_now{0};

}  // namespace

Clock::time_point Clock::now() noexcept {
    if (g_manual.load(std::memory_order_acquire)) {
        return time_point{duration{g_manual_now.load(std::memory_order_acquire)}};
    }
    return std::chrono::steady_clock::now();
}

Clock::duration ClockWaitTraits::to_wait_duration(const Clock::duration& d) noexcept {
    if (!g_manual.load(std::memory_order_acquire)) return d;
    return std::min(d, k_manual_poll);
}

Clock::duration ClockWaitTraits::to_wait_duration(const Clock::time_point& t) noexcept {
    const auto now = Clock::now();
    if (t <= now) return Clock::duration::zero();
    // steady_clock counts from boot, so now > 0 and t - now cannot overflow, even for time_point::max().
    return to_wait_duration(t - now);
}

ManualTime::ManualTime() {
    [[maybe_unused]] const bool was = g_manual.load();
    assert(!was && "one ManualTime at a time");
    g_manual_now.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                       std::memory_order_release);
    g_manual.store(true, std::memory_order_release);
}

ManualTime::~ManualTime() {
    g_manual.store(false, std::memory_order_release);
}

void ManualTime::advance(Clock::duration by) noexcept {
    g_manual_now.fetch_add(by.count(), std::memory_order_acq_rel);
}

void ManualTime::settle(asio::io_context& io) {
    // A timer due now makes the reactor re-arm its timer descriptor to fire at once, so timers made due by a
    // move of the clock run now instead of after k_manual_poll.
    Timer kick(io, Clock::now());
    bool fired = false;
    kick.async_wait([&fired](const asio::error_code&) { fired = true; });
    if (io.stopped()) io.restart();
    while (!fired)
        io.run_one();
    while (io.poll() > 0) {
    }
}

}  // namespace sg::net
