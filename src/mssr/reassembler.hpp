#pragma once
// The MSSR receiver: reassembles ADUs per stream from fragments, detects the seed's four loss cases, delivers
// ADUs in order per stream under each stream's latency deadline, and produces MSSR-RTCP feedback (RWND,
// cumulative ack, received ranges, retransmission requests). Pure: the caller passes `now` and the datagram.
//
// Loss cases (seed §3), all found through the fragment sequence ranges an ADU spans (any fragment tells the
// range, since every fragment but the last is fragment_size(mss) long):
//   a. middle fragment: a hole in the ADU's range below the highest sequence number received;
//   b. first fragment: the same, at index 0 (no offset 0 arrived);
//   c. last fragment: the ADU's length is not reached while later sequence numbers arrived;
//   d. whole ADU: a stream sequence number never seen: reported lost, never requested (its fragment
//      sequence numbers belong to no known ADU, so nothing can name them).
// The time of a lost fragment (its deadline) is its ADU's: every sibling carries it.
//
// Memory is bounded: ADU buffers are charged at their full length when the first fragment arrives, against
// a per-stream and a total budget (a fragment that would exceed either is dropped and counted); per stream at
// most max_pending_adus ADUs wait; the sequence window is a fixed ring.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <vector>

#include "mssr/sequence.hpp"
#include "mssr/stream_policy.hpp"
#include "mssr/windowed_extreme.hpp"
#include "mssr/wire.hpp"

namespace sg::mssr {

struct ReassemblerConfig {
    std::size_t mss = k_default_mss;    // must match the sender's: it fixes the fragment size
    std::uint32_t ssrc = 0;             // ours, in feedback
    std::size_t max_streams = 16;       // stream numbers 0 .. max_streams - 1
    std::vector<StreamPolicy> streams;  // per stream number; missing entries use default_policy
    StreamPolicy default_policy;
    // A gap is requested only after it has been missing for the reorder window (reordering is not loss):
    // at least reorder_window, more on a path that reorders more (reorder_window() below), at most
    // max_reorder_window.
    std::chrono::milliseconds reorder_window{5};
    std::chrono::milliseconds max_reorder_window{40};
    // A run of at most this many missing fragment numbers that belong to no known ADU is requested and waited
    // for until its deadline: it can only be that many one-fragment ADUs (audio), cheap to resend. Longer
    // unknown runs (a whole multi-fragment ADU) follow the seed: given up after the reorder window, never
    // requested. 0 restores the seed's rule for every whole loss.
    std::uint32_t max_unknown_run_requested = 1;
    std::size_t max_adu_bytes = 4u << 20;
    std::size_t max_stream_bytes = 16u << 20;
    std::size_t max_total_bytes = 32u << 20;
    std::size_t max_pending_adus = 256;  // per stream
    // Data fragments per parity group of a key ADU, as the sender's hello says (Hello::key_parity_group;
    // fragmenter.hpp, parity_groups): 0, one parity fragment per protected ADU.
    std::size_t key_parity_group = 0;
    // Both hellos announced k_feature_cauchy_parity: an ADU with several parity fragments uses the Cauchy
    // code (fragmenter.hpp, parity_code).
    bool cauchy_parity = false;
    // The data header's version both hellos settled (wire.hpp; k_version_parity_count when both announced
    // k_feature_parity_count): it fixes the fragment size with the MSS, and a packet of the other version
    // is refused.
    std::uint8_t header_version = k_version;
};

struct Delivery {
    enum class Outcome : std::uint8_t { complete, partial, lost };
    Outcome outcome = Outcome::complete;
    std::uint8_t stream = 0;
    std::uint16_t stream_sequence = 0;  // of the (first) ADU
    std::uint32_t lost_count = 1;       // for lost: how many consecutive ADUs
    bool whole_adu_lost = false;        // lost without any fragment seen (case d)
    Priority priority = Priority::key;
    std::uint32_t rtp_timestamp = 0;
    std::uint32_t time_ms = 0;
    std::vector<std::uint8_t> data;  // complete or partial only
    // Partial only: which fragments (of fragment_size octets, the last one shorter) arrived; the others'
    // bytes are zero. Lets a reader use only what really arrived (rtp_adu.hpp).
    std::vector<bool> received;
    std::size_t fragment_size = 0;
};

struct StreamStats {
    std::uint64_t fragments = 0;
    std::uint64_t duplicates = 0;
    std::uint64_t late_fragments = 0;  // for an ADU already delivered or given up
    std::uint64_t adus_complete = 0;
    std::uint64_t adus_partial = 0;
    std::uint64_t adus_lost = 0;        // includes whole losses
    std::uint64_t adus_whole_lost = 0;  // case d
    std::uint64_t key_adus_complete = 0;
    std::uint64_t key_adus_incomplete = 0;  // key ADUs delivered partial or lost with fragments seen
};

struct ReceiverStats {
    std::uint64_t packets = 0;
    std::uint64_t invalid = 0;            // unparsable, inconsistent with the MSS or with earlier fragments
    std::uint64_t out_of_window = 0;      // too far ahead of the cumulative ack
    std::uint64_t over_limit = 0;         // dropped by a memory or pending-ADU bound
    std::uint64_t nacks = 0;              // fragment requests put in feedback
    std::uint64_t reordered = 0;          // first transmissions that arrived after a later-numbered fragment
    std::uint64_t spurious_requests = 0;  // fragments requested whose first transmission then arrived
    std::uint64_t parity_fragments = 0;   // parity fragments accepted (also those that came after their ADU)
    std::uint64_t parity_recovered = 0;   // lost fragments rebuilt from a parity fragment
};

class Reassembler {
public:
    // Sequence numbers tracked past the cumulative ack (a power of two below 32768).
    static constexpr std::int64_t k_window = k_sequence_window;

    explicit Reassembler(ReassemblerConfig config);

    // One datagram from the data port.
    void on_packet(TimePoint now, Bytes datagram);
    // Whether the last datagram was a data packet whose sender waits for feedback (its W bit: its window is
    // full, or it probes): the feedback pacer then guards against a lost feedback (feedback_pacer.hpp).
    bool last_wants_feedback() const noexcept { return last_wants_feedback_; }
    // How long a repair takes: the smallest time from our first request of a fragment to the arrival of its
    // retransmission, over the last 10-20 s (a windowed minimum, so a repair that needed a second request
    // does not inflate it): one round trip plus the sender's turnaround. nullopt before the first repair.
    // The feedback pacer repeats a request a second time only once its repair is overdue.
    std::optional<std::chrono::microseconds> repair_round_trip() const noexcept;
    // How long a gap waits before it is requested at `now`: the configured minimum, or, when this path
    // delivered fragments later than that after a later-numbered one over the last 10-20 s, a quarter more
    // than the latest of them (RFC 8985 adapts its reordering window to what the path shows, too), capped.
    std::chrono::microseconds reorder_window(TimePoint now) const;
    // Gives up on ADUs past their deadline and delivers what became deliverable.
    void poll(TimePoint now);
    // The feedback to send now (poll()s first).
    Feedback make_feedback(TimePoint now);
    // Whether a gap appeared since the last make_feedback.
    bool gap_pending() const noexcept { return gap_pending_; }
    // When a gap noticed since the last make_feedback has outlasted the reorder window, so that a feedback
    // then carries its request (worth sending at once); nullopt when there is none.
    std::optional<TimePoint> request_due() const noexcept { return request_due_; }
    // When poll() next has something to do: the earliest ADU deadline or reorder-window expiry.
    std::optional<TimePoint> next_deadline() const;

    // Moves out what was delivered since the last call.
    std::vector<Delivery> take_deliveries();

    std::size_t memory_used() const noexcept { return total_bytes_; }
    std::uint32_t receive_window() const noexcept;
    const ReceiverStats& stats() const noexcept { return stats_; }
    const StreamStats& stream_stats(std::uint8_t stream) const;
    const ReassemblerConfig& config() const noexcept { return config_; }  // as the handshake settled it

private:
    struct Adu {
        std::int64_t first_seq = 0;
        std::uint32_t count = 0;  // data fragments; a parity fragment follows them when `parity`
        std::uint32_t length = 0;
        std::uint32_t received = 0;
        std::int64_t time_ms = 0;  // extended, sender clock
        Priority priority = Priority::key;
        std::uint32_t rtp_timestamp = 0;
        std::uint16_t wire_stream_sequence = 0;
        std::size_t charge = 0;
        std::vector<std::uint8_t> data;
        std::vector<bool> have;
        // Per parity group (parity_groups: one, or several for a key ADU; none without the P bit): its parity
        // fragment, until used.
        std::vector<bool> have_parity;
        std::vector<std::vector<std::uint8_t>> parity_data;
        std::vector<std::uint32_t> group_missing;  // data fragments of each group not (yet) here
        bool cauchy = false;  // the parity fragments are the Cauchy code's rows, not XOR groups
        std::uint32_t parities() const noexcept { return static_cast<std::uint32_t>(have_parity.size()); }
        bool parity() const noexcept { return !have_parity.empty(); }       // the P bit
        std::uint32_t span() const noexcept { return count + parities(); }  // fragment numbers
    };
    struct Stream {
        bool started = false;
        std::int64_t next = 0;     // extended stream sequence of the next ADU to deliver
        std::int64_t highest = 0;  // extended stream sequence seen
        std::size_t bytes = 0;
        std::map<std::int64_t, Adu> pending;
        StreamStats stats;
    };
    enum class SlotState : std::uint8_t { unknown, received, abandoned };
    struct Slot {
        SlotState state = SlotState::unknown;
        bool noticed = false;  // missing below the highest sequence number since `noticed_at`
        TimePoint noticed_at{};
        std::int64_t time_bound_ms = 0;         // ADU time (sender clock) of the packet that revealed the gap
        std::optional<TimePoint> requested_at;  // first put in a feedback's requests
        // Shown missing in a feedback (below a received range): the cumulative ack passes a missing fragment
        // (unknown, or abandoned with its ADU) only then, so the sender sees every loss as a gap, its
        // congestion signal, also one that is never requested (its ADU past the deadline).
        bool reported = false;
    };
    struct AduRef {
        std::uint8_t stream = 0;
        std::int64_t stream_sequence = 0;
        std::uint32_t span = 0;  // fragment numbers, the parity fragments' included
    };

    const StreamPolicy& policy(std::uint8_t stream) const;
    TimePoint deadline(std::uint8_t stream, const Adu& adu) const;
    Slot& slot(std::int64_t seq) { return slots_[static_cast<std::size_t>(seq & (k_window - 1))]; }
    bool in_window(std::int64_t seq) const noexcept { return seq >= cum_ && seq < cum_ + k_window; }
    // The pending ADU whose fragment range holds `seq`, if any.
    const AduRef* owner(std::int64_t seq) const;
    // `offset` is where a data fragment lies; the parity fragment has none.
    void accept(TimePoint now, const DataPacketView& packet, std::optional<std::uint32_t> offset);
    // A fragment numbered above every other so far: the numbers in between are missing (noticed now).
    void raise_highest(TimePoint now, std::int64_t seq, std::int64_t time_ms);
    // With parity group `group`'s parity fragment and all of its data fragments but one, rebuilds that one.
    // It stays unacknowledged: the sender should see the loss, and must not repeat it.
    void recover_from_parity(Adu& adu, std::uint32_t group);
    // With the Cauchy code: once as many parity fragments are here as data fragments are missing, rebuilds
    // them all (the same acknowledgement rule).
    void recover_from_cauchy(Adu& adu);
    // A data fragment rebuilt from parity now counts as here.
    void mark_recovered(Adu& adu, std::uint32_t index);
    // The extended (64-bit) ADU time of a 16-bit wire value.
    std::int64_t extend_time(TimePoint now, std::uint16_t wire) const noexcept;
    void deliver_head(std::uint8_t stream_number, Stream& stream, TimePoint now);
    void close_adu(std::uint8_t stream_number, Stream& stream, std::map<std::int64_t, Adu>::iterator it,
                   bool complete);
    // Whether every unexplained gap below fragment `below` is given up: a requested one (a short unknown run)
    // once it can no longer make a deadline of `latency`, any other once it has outlasted the reorder window.
    bool gaps_settled(std::int64_t below, TimePoint now, std::chrono::milliseconds latency);
    // Whether unknown fragment number `seq` lies in a run of unknown numbers short enough to request.
    bool unknown_run_requested(std::int64_t seq) const;
    // The latest a fragment of no known ADU at `seq` (noticed missing) can be due with `latency`: numbers
    // follow submission order, so its ADU time is at most that of the packet that revealed the gap.
    TimePoint unknown_deadline(std::int64_t seq, std::chrono::milliseconds latency);
    std::chrono::milliseconds max_latency() const;
    void skip_to(std::uint8_t stream_number, Stream& stream, std::int64_t new_next);
    void report_whole_loss(std::uint8_t stream_number, Stream& stream, std::int64_t until);
    void advance_cumulative(TimePoint now);
    void on_repair(TimePoint now, TimePoint requested_at);
    void on_reordered(TimePoint now, const Slot& arrived);

    ReassemblerConfig config_;
    std::size_t fragment_size_ = 0;
    bool started_ = false;
    std::int64_t cum_ = 0;           // every sequence number below is received or no longer wanted
    std::int64_t highest_ = 0;       // highest received
    std::int64_t last_time_ms_ = 0;  // the first packet's ADU time, until offset_ms_ is known
    bool last_wants_feedback_ = false;
    bool have_offset_ = false;
    std::int64_t offset_ms_ = 0;  // min(arrival - ADU time): maps sender time onto ours
    std::vector<Slot> slots_;
    std::vector<Stream> streams_;
    std::map<std::int64_t, AduRef> by_first_seq_;
    std::size_t total_bytes_ = 0;
    bool gap_pending_ = false;
    std::optional<TimePoint> request_due_;       // see request_due()
    std::optional<TimePoint> last_request_due_;  // the same for the newest gap noticed
    bool passing_unknown_run_ = false;  // advance_cumulative is inside a run of unknown numbers it gave up
    std::optional<TimePoint> reorder_wakeup_;  // when a held-back whole-ADU loss can be decided
    std::vector<Delivery> deliveries_;
    ReceiverStats stats_;
    WindowedExtreme<std::chrono::microseconds, std::less<>> repair_min_;
    // How late first transmissions came after a later-numbered fragment had arrived.
    WindowedExtreme<std::chrono::microseconds, std::greater<>> reorder_max_;
};

}  // namespace sg::mssr
