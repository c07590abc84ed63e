#pragma once
// The clock that deadlines in I/O code read: relay idle timeouts, Happy Eyeballs, UDP association idle, the
// admin server's head deadline. In production it is std::chrono::steady_clock, plus one relaxed atomic load.
//
// A test may install a ManualTime: now() then returns a time the test moves by hand, so a timeout is
// exercised to the nanosecond and a loaded machine cannot make it flake (while the test thread is
// descheduled, no time passes for the code under test). Timers on this clock (net::Timer) keep working under
// manual time because Asio is told to look again after at most k_manual_poll of real time: it cannot know
// when the test moves the clock. ManualTime::settle() makes an io_context run whatever a move made due,
// without waiting at all.
//
// time_point is steady_clock's own, so APIs keep taking steady_clock durations and time points.

#include <asio/basic_waitable_timer.hpp>
#include <asio/io_context.hpp>
#include <chrono>

namespace sg::net {

struct Clock {
    using duration = std::chrono::steady_clock::duration;
    using rep = duration::rep;
    using period = duration::period;
    using time_point = std::chrono::steady_clock::time_point;
    static constexpr bool is_steady = true;

    static time_point now() noexcept;
};

// How long Asio sleeps at most between looks at a manual clock.
inline constexpr Clock::duration k_manual_poll = std::chrono::milliseconds{1};

struct ClockWaitTraits {
    static Clock::duration to_wait_duration(const Clock::duration& d) noexcept;
    static Clock::duration to_wait_duration(const Clock::time_point& t) noexcept;
};

using Timer = asio::basic_waitable_timer<Clock, ClockWaitTraits>;

// Test-only: while one exists, Clock::now() is the time it holds, starting at the real steady time of its
// construction. One at a time; destroy what uses the clock first (declare the ManualTime before it).
class ManualTime {
public:
    ManualTime();
    ~ManualTime();
    ManualTime(const ManualTime&) = delete;
    ManualTime& operator=(const ManualTime&) = delete;

    void advance(Clock::duration by) noexcept;
    Clock::time_point now() const noexcept { return Clock::now(); }

    // Runs `io` (not running on another thread) until every handler made ready by the current time has run,
    // timers due now included.
    static void settle(asio::io_context& io);

    // Moves the clock `by` in steps of `step`, settling `io` after each, so timers fire in order and at
    // their own time; stops early when `done()` turns true. Returns done().
    template <typename Done>
    bool run_for(asio::io_context& io, Clock::duration by, Done done,
                 Clock::duration step = std::chrono::milliseconds{1}) {
        settle(io);
        for (Clock::duration moved{0}; moved < by && !done(); moved += step) {
            advance(step);
            settle(io);
        }
        return done();
    }
};

}  // namespace sg::net
