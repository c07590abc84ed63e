#include "mssr/feedback_pacer.hpp"

#include <algorithm>

namespace sg::mssr {

namespace {

// Request repeats back off to max_delay x 2^2 at most.
constexpr std::uint32_t k_max_repeat_shift = 2;

}  // namespace

void FeedbackPacer::on_data(TimePoint now, bool wants_feedback) noexcept {
    if (unreported_++ == 0) first_unreported_ = now;
    last_unreported_ = now;
    sender_waiting_ = sender_waiting_ || wants_feedback;
}

std::optional<TimePoint> FeedbackPacer::next_due() const noexcept {
    if (!last_sent_) return first_unreported_;  // the first feedback: at once
    TimePoint due = *last_sent_ + config_.idle_interval;
    if (first_unreported_) {
        due = std::min(due, *first_unreported_ + config_.max_delay);
        due = std::min(due, last_unreported_ + config_.quiet);
    }
    // Repeat a feedback that acknowledged a waiting sender's data once, `max_delay` later, if nothing arrived
    // since: it may have been lost, and a window-limited sender would wait for a probe or its RTO.
    if (acked_waiting_ && unreported_ == 0) due = std::min(due, *last_sent_ + config_.max_delay);
    // Repeat requests while they are outstanding, backing off while nothing arrives.
    if (requested_) {
        const std::uint32_t shift = std::min(request_repeats_, k_max_repeat_shift);
        TimePoint::duration repeat = config_.max_delay * (1u << shift);
        // After the first repeat (for a lost request, max_delay after it), the next can only help once the
        // repair is overdue: one repair round trip later, it is max_delay late. No more margin: each ms
        // here delays the second repair of a lost one (a loss at 10 % costs frames at a 120 ms budget).
        if (request_repeats_ > 0 && repair_round_trip_)
            repeat = std::max<TimePoint::duration>(repeat, *repair_round_trip_);
        due = std::min(due, *last_sent_ + repeat);
    }
    return due;
}

bool FeedbackPacer::due(TimePoint now, std::optional<TimePoint> request_due) const noexcept {
    if (request_due && now >= *request_due) return true;
    if (config_.every_fragments != 0 && unreported_ >= config_.every_fragments) return true;
    const auto next = next_due();
    return next && now >= *next;  // (nothing heard yet: nothing to say)
}

void FeedbackPacer::on_sent(TimePoint now, bool requested,
                            std::optional<std::chrono::microseconds> repair_round_trip) noexcept {
    last_sent_ = now;
    repair_round_trip_ = repair_round_trip;
    request_repeats_ = requested && requested_ && unreported_ == 0 ? request_repeats_ + 1 : 0;
    requested_ = requested;
    acked_waiting_ = unreported_ > 0 && sender_waiting_;
    sender_waiting_ = false;
    unreported_ = 0;
    first_unreported_.reset();
}

}  // namespace sg::mssr
