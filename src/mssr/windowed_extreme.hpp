#pragma once
// The best sample (smallest or largest, by `Better`) of the last one to two windows of time. Two buckets,
// the current window's and the one before, so an old extreme ages out within two windows without keeping
// every sample: enough where the figure only has to follow a path that changes over tens of seconds (the
// repair round trip, the reordering a path shows). Pure: the caller passes the time.

#include <optional>

#include "mssr/sequence.hpp"

namespace sg::mssr {

template <typename T, typename Better>
class WindowedExtreme {
public:
    explicit WindowedExtreme(TimePoint::duration window) : window_(window) {}

    void add(TimePoint now, T sample) {
        if (!started_ || now - window_start_ >= window_) {
            // A bucket that ended more than one window ago says nothing about now.
            before_ = started_ && now - window_start_ < 2 * window_ ? current_ : std::nullopt;
            current_.reset();
            window_start_ = now;
            started_ = true;
        }
        if (!current_ || Better{}(sample, *current_)) current_ = sample;
    }

    // The best sample of the last one to two windows before `now`; nullopt when there was none.
    std::optional<T> get(TimePoint now) const noexcept {
        if (!started_ || now - window_start_ >= 2 * window_) return std::nullopt;
        if (now - window_start_ >= window_) return current_;
        return best(current_, before_);
    }

    // The best of the last two buckets that had samples, however old: for a figure where a stale value is
    // still better than none.
    std::optional<T> last_known() const noexcept { return best(current_, before_); }

private:
    static std::optional<T> best(const std::optional<T>& a, const std::optional<T>& b) noexcept {
        if (!a) return b;
        if (!b) return a;
        return Better{}(*a, *b) ? a : b;
    }

    TimePoint::duration window_;
    bool started_ = false;
    TimePoint window_start_{};
    std::optional<T> current_;
    std::optional<T> before_;
};

}  // namespace sg::mssr
