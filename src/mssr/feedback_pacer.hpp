#pragma once
// When the MSSR receiver sends feedback (MSSR-RTCP). Every feedback costs a datagram on the return path;
// sending one every 10 ms cost about 1.5 % of a 3 Mbit/s stream (docs/benchmarks.md). So feedback is sent:
//   - at once when a gap's request is due (Reassembler::request_due: the sender repairs from it);
//   - after every `every_fragments` data packets;
//   - `quiet` after the last data packet not yet acknowledged, when no other followed: the end of a burst
//     (a video frame; or a window-limited sender that now waits for its acks, which must not wait long:
//     this is what keeps a small congestion window from stalling, TCP's delayed ack does the same);
//   - at most `max_delay` after the first packet not yet acknowledged (a continuous stream has no pauses);
//   - once more `max_delay` after a feedback that acknowledged a packet whose sender waits for feedback (the
//     W bit: its window is full, or it probes), when nothing arrived since: the feedback may have been lost,
//     and that sender would wait for a probe or its retransmission timeout. A sender with room in its window
//     (the live mode, usually) loses nothing by a lost ack, so it gets no repeat: that repeat was half of all
//     feedback of a 25 fps stream before the W bit (docs/mssr.md);
//   - after a feedback that requested retransmissions, while requests stay outstanding and nothing arrives:
//     `max_delay` later (the request may have been lost), then, backing off from twice and four times that,
//     no sooner than one repair round trip (measured by the receiver) after that first repeat, when the
//     repair is `max_delay` overdue. A lost repair can only be asked for again then (the sender resends a
//     fragment at most once per SRTT), so earlier repeats only cost a datagram each; data arriving again
//     brings a feedback with the requests anyway, and resets the back-off;
//   - every `idle_interval` while nothing arrives: a keepalive, and RWND for a sender that probes.
// While packets arrive in order and nothing is missing, no feedback is sent that says nothing new. Pure: the
// caller passes `now`.

#include <chrono>
#include <cstdint>
#include <optional>

#include "mssr/sequence.hpp"

namespace sg::mssr {

struct FeedbackPacerConfig {
    std::uint32_t every_fragments = 16;
    std::chrono::milliseconds quiet{2};
    std::chrono::milliseconds max_delay{10};
    std::chrono::milliseconds idle_interval{200};
};

class FeedbackPacer {
public:
    explicit FeedbackPacer(FeedbackPacerConfig config = {}) noexcept : config_(config) {}

    // A data packet arrived (accepted or not: it is news for the sender either way); `wants_feedback`: its
    // W bit (Reassembler::last_wants_feedback).
    void on_data(TimePoint now, bool wants_feedback = false) noexcept;
    // Whether feedback is due now; `request_due`: Reassembler::request_due().
    bool due(TimePoint now, std::optional<TimePoint> request_due) const noexcept;
    // Feedback was sent now; `requested`: it asked for retransmissions; `repair_round_trip`:
    // Reassembler::repair_round_trip(), how long a repair takes (nullopt: not known yet).
    void on_sent(TimePoint now, bool requested,
                 std::optional<std::chrono::microseconds> repair_round_trip = std::nullopt) noexcept;
    // When due() becomes true without a new packet (request_due aside); nullopt before anything was heard.
    std::optional<TimePoint> next_due() const noexcept;

private:
    FeedbackPacerConfig config_;
    std::uint32_t unreported_ = 0;               // data packets since the last feedback
    std::optional<TimePoint> first_unreported_;  // arrival of the first of them
    TimePoint last_unreported_{};                // and of the last
    std::optional<TimePoint> last_sent_;
    bool requested_ = false;
    std::uint32_t request_repeats_ = 0;  // feedbacks in a row that requested with nothing arrived between
    std::optional<std::chrono::microseconds> repair_round_trip_;
    bool sender_waiting_ = false;  // a packet since the last feedback had the W bit
    bool acked_waiting_ = false;   // the last feedback acknowledged such a packet
};

}  // namespace sg::mssr
