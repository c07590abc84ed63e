#include "mssr/feedback_pacer.hpp"

#include <algorithm>

namespace sg::mssr {

void FeedbackPacer::on_data(TimePoint now) noexcept {
    if (unreported_++ == 0) first_unreported_ = now;
    last_unreported_ = now;
}

std::optional<TimePoint> FeedbackPacer::next_due() const noexcept {
    if (!last_sent_) return first_unreported_;  // the first feedback: at once
    TimePoint due = *last_sent_ + config_.idle_interval;
    if (first_unreported_) {
        due = std::min(due, *first_unreported_ + config_.max_delay);
        due = std::min(due, last_unreported_ + config_.quiet);
    }
    // Repeat a feedback that requested retransmissions or acknowledged new data once, `max_delay` later, if
    // nothing arrived since: it may have been lost, and a window-limited sender would wait for its RTO.
    if (requested_ || (acked_data_ && unreported_ == 0)) due = std::min(due, *last_sent_ + config_.max_delay);
    return due;
}

bool FeedbackPacer::due(TimePoint now, std::optional<TimePoint> request_due) const noexcept {
    if (request_due && now >= *request_due) return true;
    if (config_.every_fragments != 0 && unreported_ >= config_.every_fragments) return true;
    const auto next = next_due();
    return next && now >= *next;  // (nothing heard yet: nothing to say)
}

void FeedbackPacer::on_sent(TimePoint now, bool requested) noexcept {
    last_sent_ = now;
    requested_ = requested;
    acked_data_ = unreported_ > 0;
    unreported_ = 0;
    first_unreported_.reset();
}

}  // namespace sg::mssr
