#pragma once
// The MSSR sender's scheduler: one send buffer for all streams (the seed's design), fragments numbered in
// submission order, and the seed's sending rules:
//   a. no data while unacknowledged data >= CWND;
//   b. nothing while the receiver's RWND is 0, except one probe in flight;
//   c. retransmissions before new data.
// Beyond the seed: a fragment whose ADU deadline (ADU time + stream latency) has passed is dropped and never
// sent; retransmissions go by value (key frames first, then reference frames, then the rest, earliest
// deadline first within a class) under the stream's RetransmitMode; a gap ack's request is a fast
// retransmit; a tail-loss probe (RFC 8985 §7) resends the newest fragment after two silent RTTs, also when
// the window is full (a lost feedback), so a lost tail or ack shows up at once instead of waiting for the
// retransmission timer, which follows RFC 6298 with Karn's
// algorithm. Datagrams can be paced at a share of the window per SRTT (RFC 9002 §7.7, as Linux paces TCP), so
// that a frame does not leave as one burst into a queue that another flow keeps full. Where no repair can
// arrive in time (the budget is below a round trip), each ADU gets a parity fragment after its last one,
// which rebuilds any one lost fragment at the receiver (a key ADU one per group of its fragments, or, in
// header version 3, as many as the measured loss calls for: parity_plan.hpp); or, for a
// receiver that does not take parity, its first fragment, the one a decoder cannot do without, is sent a
// second time: for key ADUs always, for the others while the path shows loss. The handshake's round trip can
// seed the RTT, so that this holds from the first ADU on. Pure: `now` is passed in.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <tuple>
#include <vector>

#include "common/result.hpp"
#include "mssr/congestion.hpp"
#include "mssr/gop_span.hpp"
#include "mssr/parity_plan.hpp"
#include "mssr/rtt_estimator.hpp"
#include "mssr/sequence.hpp"
#include "mssr/stream_policy.hpp"
#include "mssr/wire.hpp"

namespace sg::mssr {

struct SenderStreamConfig {
    std::uint32_t ssrc = 0;
    StreamPolicy policy;
};

// How a protected ADU's parity count is chosen in header version 3 (SenderConfig::parity_rule).
enum class ParityRule : std::uint8_t {
    residual,  // at most a fixed chance per kind of frame that it stays broken (parity_count_for)
    value,     // by the frames a broken ADU spoils (parity_count_for_value)
};

struct SenderConfig {
    std::size_t mss = k_default_mss;
    std::uint16_t initial_sequence = 0;  // first fragment sequence number
    std::uint8_t payload_type = k_default_payload_type;
    std::vector<SenderStreamConfig> streams;  // indexed by stream number
    std::size_t max_buffer_bytes = 8u << 20;  // ADU octets held (queued and unacknowledged)
    RttConfig rtt;
    CongestionConfig congestion;  // its mss is overwritten with ours
    // The live mode (live_window.hpp; 0: off): the window also holds this rate for one SRTT, so fragments
    // waiting for their acks do not use up the floor that live_congestion() gives the congestion window.
    std::uint32_t live_rate_kbps = 0;
    // Until the first feedback we assume the receiver can hold this much.
    std::uint32_t initial_receive_window = 1u << 20;
    // When no repair of an ADU's first fragment could arrive in time (its deadline is less than one SRTT plus
    // this allowance, the receiver's reorder window, after its first transmission), send that fragment a
    // second time right after the ADU's last one: it carries the PES/picture header, without which a
    // decoder loses the whole frame. Off: a budget below the RTT gets plain UDP's delivery, nothing more.
    bool copy_unrepairable_first_fragment = true;
    std::chrono::milliseconds reorder_allowance{5};
    // When a retransmission is the last one that can arrive in time (another request could only be answered
    // one SRTT from now, past the deadline), send it twice, back to back: the loss of a last repair is the
    // loss of the fragment. Such repairs are those of losses found late: a frame's tail, noticed only when
    // the next frame arrives, or a path whose reordering widened the receiver's reorder window.
    bool copy_last_chance_repairs = true;
    // Where no repair could arrive in time (the stream's latency is at most one SRTT plus the reorder
    // allowance when the ADU is submitted), protect the ADU with a parity fragment instead of the first
    // fragment's copy: the same one datagram more per ADU, but it rebuilds any one lost fragment, the first
    // included, where the copy saves only the first. Only for a receiver that announced k_feature_parity
    // (handshake.hpp), so off here; the session turns it on.
    bool parity_when_unrepairable = false;
    // A key ADU so protected gets one parity fragment per this many data fragments (interleaved groups,
    // fragmenter.hpp, parity_groups) instead of one for the whole ADU: a key frame is long (about 30
    // fragments at 3 Mbit/s), so at a few percent loss it usually loses two or more, which one parity
    // fragment cannot rebuild, and without it the decoder loses its GOP. 0: one parity fragment per ADU.
    // Only for a receiver that announced k_feature_parity_groups (handshake.hpp), so 0 here.
    std::size_t key_parity_group = 0;
    // Those parity fragments in the Cauchy code, where any m of them rebuild any m lost fragments, instead of
    // XOR groups (fragmenter.hpp, parity_code). Only for a receiver that announced k_feature_cauchy_parity.
    bool cauchy_parity = false;
    // The data header's version. With k_version_parity_count each protected ADU's header carries how many
    // parity fragments it has, and the sender chooses that count per ADU from the loss it measures
    // (parity_plan.hpp): as few as leave a key ADU broken with probability parity_residual_key at most, a
    // disposable one parity_residual_disposable, any other parity_residual, instead of the fixed groups above
    // (which stay the rule until enough fates are known, and for ADUs too long for the Cauchy code). Only for
    // a receiver that announced k_feature_parity_count, so version 2 here.
    std::uint8_t header_version = k_version;
    double parity_residual = 0.02;
    double parity_residual_key = 0.002;
    // A disposable ADU's: its loss spoils that frame alone, where a reference frame's spoils every frame
    // until the next key frame, so it is worth less parity.
    double parity_residual_disposable = 0.5;
    // Or, with ParityRule::value, by what a broken ADU costs (parity_count_for_value): each parity fragment
    // is worth parity_frames_per_datagram frames, and a broken ADU spoils the frames GopSpan counts, the
    // GOP's length assumed to be parity_assumed_gop frames until the stream's key ADUs show it. An ADU
    // whose count comes out 0 goes unprotected, and gets no first fragment's copy either, unless it is a key
    // ADU.
    ParityRule parity_rule = ParityRule::residual;
    double parity_frames_per_datagram = 0.15;
    std::size_t parity_assumed_gop = 50;
    // That protection (parity or the copy) costs a datagram per ADU whether or not anything is lost, so a
    // non-key ADU gets it only while the path has shown a loss within this long (a hole below 3 acked
    // fragments, or a request); key ADUs always do. Zero: every unrepairable ADU, always.
    std::chrono::milliseconds protect_after_loss{10000};
    // Before the first RTT sample, whether a repair fits is unknown. With this, a key ADU whose budget is
    // under the initial RTO (RFC 6298's conservative 1 s) counts as unrepairable and is protected; without
    // it, nothing is. mssr::Socket turns it on: a listening sender's first ADUs leave before the receiver's
    // HELLO-CONFIRM times its round trip, and the stream's first key frame, which its whole first GOP needs,
    // is usually among them.
    bool protect_before_rtt = false;
    // Pacing: once the RTT is known, datagrams leave no faster than pacing_percent % of the send window per
    // SRTT (pacing_slow_start_percent % in slow start, where the window doubles every round trip), with
    // bursts of at most pacing_burst_packets. Without it a window's worth leaves at once: a key frame into
    // a bottleneck queue that a TCP flow keeps nearly full overflows it in one burst, which costs many
    // fragments but is one loss event, so the window shrinks less often than the TCP flow's does (the
    // TCP-friendliness bench, docs/benchmarks.md). The ratios are Linux's (tcp_pacing_ss_ratio and
    // tcp_pacing_ca_ratio). Tail-loss probes are not paced: they exist because nothing else went out. Off
    // here; the session (SocketOptions::pacing) turns it on.
    bool pacing = false;
    std::uint32_t pacing_percent = 120;
    std::uint32_t pacing_slow_start_percent = 200;
    std::size_t pacing_burst_packets = 2;
};

struct Adu {
    std::uint8_t stream = 0;
    Priority priority = Priority::key;
    std::uint32_t rtp_timestamp = 0;
    std::vector<std::uint8_t> data;
};

struct SenderStats {
    std::uint64_t adus = 0;
    std::uint64_t fragments_sent = 0;  // first transmissions
    std::uint64_t retransmissions = 0;
    std::uint64_t fast_retransmits = 0;  // losses reported by a gap ack
    std::uint64_t timeouts = 0;
    std::uint64_t dropped_unsent = 0;      // expired before the first transmission
    std::uint64_t dropped_unrepaired = 0;  // lost, but too late or not worth a retransmission
    std::uint64_t rejected_adus = 0;       // send buffer full
    std::uint64_t probes = 0;              // sent while RWND was 0
    // Newest fragment resent after two silent RTTs; also in retransmissions if still before its deadline.
    std::uint64_t tail_probes = 0;
    std::uint64_t acked_late = 0;  // acknowledged past their deadline though sent in time (no loss)
    std::uint64_t gap_losses = 0;  // unacked while 3 later fragments were acked: a loss, requested or not
    std::uint64_t first_fragment_copies = 0;  // second copies of unrepairable first fragments (not above)
    std::uint64_t repair_copies = 0;          // second copies of last-chance retransmissions (not above)
    std::uint64_t parity_adus = 0;            // ADUs given a parity fragment
    std::uint64_t parity_fragments = 0;       // parity fragments sent (not in fragments_sent)
    std::uint64_t parity_planned = 0;         // parity fragments of the ADUs given parity
    std::uint64_t parity_declined = 0;        // unrepairable ADUs given none by the value rule
    std::uint64_t paced_waits = 0;            // times a datagram ready to go waited for the pacer
};

class Sender {
public:
    explicit Sender(SenderConfig config);

    // Queues an ADU for stream `adu.stream`; its deadline is now + the stream's latency. Fails when the
    // stream is unknown, the ADU empty or too long, or the send buffer full.
    Result<std::uint16_t> submit(TimePoint now, Adu adu);

    // Appends the next datagram to send now to `out` and returns its size; nullopt when the windows, the
    // buffer or the rules allow nothing (call again after feedback or at next_wakeup()).
    std::optional<std::size_t> next_packet(TimePoint now, std::vector<std::uint8_t>& out);

    void on_feedback(TimePoint now, const FeedbackView& feedback);
    // The round trip of the session's handshake (HandshakeTimer, handshake.hpp) as the first RTT sample, so
    // that the stream's first ADUs (its first key frame) get the RTO and the first-fragment copy that a
    // measured path gives; RFC 6298 takes the SYN / SYN-ACK's the same way. Ignored once a sample exists.
    // The live window keeps its generous start until an ack gives a sample (send_window()).
    void seed_rtt(std::chrono::microseconds sample) noexcept;
    // Retransmission timeout and deadline expiry; next_packet() calls it too.
    void poll(TimePoint now);
    std::optional<TimePoint> next_wakeup() const;

    const SenderStats& stats() const noexcept { return stats_; }
    const SenderConfig& config() const noexcept { return config_; }  // as the handshake settled it
    const RttEstimator& rtt() const noexcept { return rtt_; }
    // The share of datagrams the path loses, as the feedback shows it (nullopt until enough are known).
    std::optional<double> loss_estimate() const noexcept { return loss_.fraction(); }
    const CongestionControl& congestion() const noexcept { return cc_; }
    std::size_t in_flight() const noexcept { return in_flight_; }
    std::uint32_t receive_window() const noexcept { return rwnd_; }
    std::size_t buffered_bytes() const noexcept { return buffered_; }

private:
    enum class State : std::uint8_t { queued, in_flight, lost, done };
    struct Fragment {
        std::shared_ptr<const std::vector<std::uint8_t>> adu;
        FragmentHeader header;
        std::uint32_t offset = 0;  // in the ADU
        std::uint32_t size = 0;
        std::uint32_t rtp_timestamp = 0;
        State state = State::queued;
        bool last = false;          // the ADU's last data fragment
        bool is_parity = false;     // one of the ADU's parity fragments: never retransmitted
        bool copy_wanted = false;   // first fragment of its ADU, unrepairable: resend after the ADU's last
        bool loss_counted = false;  // its loss was already a congestion signal (gap ack or request)
        bool fate_counted = false;  // its delivery or loss is in the loss estimate
        std::uint32_t transmissions = 0;
        TimePoint last_sent{};
        TimePoint deadline{};
        std::size_t wire_size() const noexcept;
    };
    // Retransmission order: priority class, then deadline, then sequence.
    using RetransmitKey = std::tuple<std::uint8_t, TimePoint, std::int64_t>;

    Fragment* find(std::int64_t seq);
    void mark_acked(Fragment& f, TimePoint now, std::size_t& acked,
                    std::optional<TimePoint>& newest_single_send);
    // How many parity fragments a protected ADU of `count` data fragments gets
    // (SenderConfig::header_version, parity_rule); `span`: the frames its loss would spoil (GopSpan).
    std::size_t parity_count(std::size_t count, Priority priority, std::size_t span) const noexcept;
    // The loss estimate's share of one fragment's fate, once per fragment.
    void note_fate(Fragment& f, bool lost) noexcept;
    // Whether an ADU of `priority` whose budget no repair fits gets parity or the first fragment's copy.
    bool protects(TimePoint now, Priority priority) const noexcept;
    // Whether something of `priority` sent at `now` for `deadline` needs that protection: no repair of it
    // could arrive in time (judged by the RTT; none before a sample), and protects() says it is worth it.
    bool unrepairable(TimePoint now, TimePoint deadline, Priority priority) const noexcept;
    // `congestion` is false for losses found by the timer (they have their own window reaction).
    void mark_lost(Fragment& f, std::int64_t seq, TimePoint now, bool congestion);
    void finish(Fragment& f);
    // RFC 6675's IsLost over one feedback's ack ranges: an in-flight fragment below them with at least
    // k_dup_threshold fragments acked above it was dropped, whether or not the receiver asks for it, once it
    // is also overdue (RFC 8985's time rule: sent more than an SRTT and a quarter ago), so that a path
    // that reorders by less than that is not taken for a congested one.
    void detect_gap_losses(TimePoint now, const FeedbackView& feedback, std::int64_t cum);
    // The congestion signal for fragment `seq`, once per fragment; it also keeps unrepairable ADUs protected.
    void count_loss(Fragment& f, std::int64_t seq, TimePoint now);
    // NewReno's recovery point (RFC 6582 §3.2): the highest number sent so far, plus one.
    std::int64_t sent_end() const noexcept { return std::max(next_new_, base_); }
    std::int64_t end_sequence() const noexcept { return base_ + static_cast<std::int64_t>(buffer_.size()); }
    void expire(TimePoint now);
    void trim();
    std::size_t send_window() const noexcept;  // min(congestion window (+ live term), RWND)
    bool window_open() const noexcept;
    std::chrono::microseconds probe_timeout() const noexcept;
    // How long after its transmission an unacked fragment counts as lost rather than reordered or still on
    // its way: RFC 8985's RTT plus reordering window (SRTT and a quarter); the RTO before any sample.
    std::chrono::microseconds overdue_after() const noexcept;
    std::optional<std::size_t> send_tail_probe(TimePoint now, std::vector<std::uint8_t>& out);
    // One datagram of `f` with `header`, as RTP of its stream (the stream's next RTP sequence number).
    Result<std::size_t> append_fragment(const Fragment& f, const FragmentHeader& header,
                                        std::vector<std::uint8_t>& out);
    // Sends an in-flight fragment again without changing the window's count (a probe or a copy).
    std::optional<std::size_t> resend(Fragment& f, std::int64_t seq, TimePoint now, bool feedback_wanted,
                                      std::vector<std::uint8_t>& out);
    std::optional<std::size_t> send_copy(TimePoint now, std::vector<std::uint8_t>& out);
    // The most valuable and urgent repair still before its deadline, if any.
    std::optional<std::size_t> send_retransmission(TimePoint now, std::vector<std::uint8_t>& out);
    // next_packet() once the window and the pacer allow a datagram: copies, repairs, then new data.
    std::optional<std::size_t> next_in_window(TimePoint now, std::vector<std::uint8_t>& out);
    // A repair or new data is waiting to go out, whatever the congestion window says; has_sendable(): or a
    // copy.
    bool more_to_send() const noexcept;
    bool has_sendable() const noexcept;
    // New data goes out only below this: the end of the buffer, or of the receiver's sequence window (its
    // cumulative ack is at or below our base_).
    std::int64_t new_data_end() const noexcept { return std::min(end_sequence(), base_ + k_sequence_window); }
    // The pacing rate as nanoseconds per octet; nullopt when not pacing (off, or no RTT sample yet).
    std::optional<double> pacing_ns_per_octet() const noexcept;
    // The slowest rate, as nanoseconds per octet, at which the rest of the next new fragment's ADU still
    // leaves in time: its last first transmission one way before the deadline, and a repair's time before
    // that where the budget has room for twice as much; 0 when it is late already, nullopt with no new data.
    std::optional<double> deadline_ns_per_octet(TimePoint now) const noexcept;
    // Charges a datagram of `octets` sent at `now` to the pacer.
    void pace(TimePoint now, std::size_t octets);
    std::size_t transmit(Fragment& f, std::int64_t seq, TimePoint now, std::vector<std::uint8_t>& out);

    SenderConfig config_;
    RttEstimator rtt_;
    CongestionControl cc_;
    std::deque<Fragment> buffer_;  // buffer_[i] has extended sequence base_ + i
    std::int64_t base_ = 0;
    std::int64_t next_new_ = 0;  // first fragment never sent (extended)
    std::set<RetransmitKey> retransmit_;
    // Fragments whose second copy is due: first fragments (their ADU is all sent) and last-chance repairs.
    struct Copy {
        std::int64_t seq = 0;
        bool repair = false;
    };
    std::deque<Copy> copies_;
    std::vector<std::uint16_t> stream_sequence_;
    std::vector<GopSpan> gop_spans_;  // per stream
    std::vector<std::uint16_t> rtp_sequence_;
    std::size_t in_flight_ = 0;
    std::size_t buffered_ = 0;
    TimePoint newest_acked_send_ =
        TimePoint::min();             // newest transmission time of any fragment acked so far (RTT samples)
    std::size_t peak_in_flight_ = 0;  // since the last feedback: was the window in use?
    std::uint32_t rwnd_;
    bool ack_sampled_ = false;  // an RTT sample came from an ack, not only from the handshake (seed_rtt)
    std::optional<TimePoint> rto_at_;
    bool timeout_repair_ = false;        // a timeout's retransmission is due, whatever the window
    std::optional<TimePoint> probe_at_;  // tail-loss probe (RFC 8985 §7)
    std::uint32_t probes_since_ack_ = 0;
    std::optional<TimePoint> next_expiry_;
    std::optional<TimePoint> last_loss_;  // the newest hole or request seen (protects())
    LossEstimate loss_;
    TimePoint pace_at_ = TimePoint::min();  // the pacer lets the next datagram go at or after this
    SenderStats stats_;
};

}  // namespace sg::mssr
