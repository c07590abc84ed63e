#include "mssr/sender.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <functional>
#include <utility>

#include "mssr/fragmenter.hpp"

namespace sg::mssr {
namespace {

constexpr std::int64_t k_extended_base = std::int64_t{1} << 32;
// Unacknowledged fragments we keep: half the 16-bit space, so wire numbers stay unambiguous.
constexpr std::size_t k_max_outstanding = 32000;
// Tail-loss probes in a row without an ack before only the retransmission timer is left.
constexpr std::uint32_t k_max_probes = 3;
// RFC 6675's DupThresh: fragments acked above an unacked one before it counts as lost.
constexpr std::int64_t k_dup_threshold = 3;

CongestionConfig with_mss(CongestionConfig c, std::size_t mss) {
    c.mss = mss;
    return c;
}

}  // namespace

std::size_t Sender::Fragment::wire_size() const noexcept {
    return size + packet_overhead(header.version);
}

Sender::Sender(SenderConfig config)
    : config_(std::move(config)),
      rtt_(config_.rtt),
      cc_(with_mss(config_.congestion, config_.mss)),
      base_(k_extended_base + config_.initial_sequence),
      next_new_(base_),
      stream_sequence_(config_.streams.size(), 0),
      gop_spans_(config_.streams.size(), GopSpan(config_.parity_assumed_gop)),
      rtp_sequence_(config_.streams.size(), 0),
      rwnd_(config_.initial_receive_window) {}

Result<std::uint16_t> Sender::submit(TimePoint now, Adu adu) {
    if (adu.stream >= config_.streams.size()) return fail("unknown MSSR stream");
    const std::size_t size = fragment_size(config_.mss, config_.header_version);
    if (size == 0) return fail("MSS below the minimum");
    if (adu.data.empty() || adu.data.size() > k_max_adu_size) return fail("ADU empty or too long");
    const TimePoint deadline = now + config_.streams[adu.stream].policy.latency;
    // Every ADU the stream offers counts towards its GOP, sent or refused.
    const std::size_t span = gop_spans_[adu.stream].next(adu.priority);
    const std::size_t count = fragment_count(adu.data.size(), size);
    const bool no_repair_fits = config_.parity_when_unrepairable && unrepairable(now, deadline, adu.priority);
    const std::size_t parities = no_repair_fits ? parity_count(count, adu.priority, span) : 0;
    const bool parity = parities != 0;
    const std::size_t parity_size = parities * parity_fragment_size(adu.data.size(), size);
    if (buffered_ + adu.data.size() + parity_size > config_.max_buffer_bytes ||
        buffer_.size() + count + parities > k_max_outstanding) {
        ++stats_.rejected_adus;
        return fail("MSSR send buffer full");
    }
    AduInfo info;
    info.stream = adu.stream;
    info.stream_sequence = stream_sequence_[adu.stream];
    info.priority = adu.priority;
    info.time_ms = static_cast<std::uint16_t>(to_millis(now));
    info.length = static_cast<std::uint32_t>(adu.data.size());
    info.parity = parity;
    info.version = config_.header_version;
    if (info.version == k_version_parity_count) info.parity_count = parities;
    const auto plans = plan_fragments(info, static_cast<std::uint16_t>(end_sequence()), config_.mss,
                                      config_.key_parity_group);
    if (!plans) return Error{plans.error()};

    const auto data = std::make_shared<const std::vector<std::uint8_t>>(std::move(adu.data));
    std::vector<std::shared_ptr<const std::vector<std::uint8_t>>> parity_data;
    const ParityCode code = parity_code(count, parities, config_.cauchy_parity);
    for (std::size_t group = 0; group < parities; ++group)
        parity_data.push_back(
            std::make_shared<const std::vector<std::uint8_t>>(parity_of(*data, size, parities, group, code)));
    if (parity) {
        ++stats_.parity_adus;
        stats_.parity_planned += parities;
    } else if (no_repair_fits) {
        ++stats_.parity_declined;
    }
    for (std::size_t i = 0; i < plans->size(); ++i) {
        Fragment f;
        f.is_parity = (*plans)[i].is_parity;
        f.adu = f.is_parity ? parity_data[i - count] : data;
        f.header = (*plans)[i].header;
        f.offset = (*plans)[i].offset;
        f.size = (*plans)[i].size;
        f.rtp_timestamp = adu.rtp_timestamp;
        f.last = i + 1 == count;
        f.deadline = deadline;
        buffer_.push_back(std::move(f));
    }
    buffered_ += data->size() + parity_size;
    if (!next_expiry_ || deadline < *next_expiry_) next_expiry_ = deadline;
    ++stats_.adus;
    return stream_sequence_[info.stream]++;
}

Sender::Fragment* Sender::find(std::int64_t seq) {
    if (seq < base_ || seq >= end_sequence()) return nullptr;
    return &buffer_[static_cast<std::size_t>(seq - base_)];
}

std::size_t Sender::send_window() const noexcept {
    std::size_t window = cc_.window();
    if (config_.live_rate_kbps != 0) {
        // kbit/s x microseconds / 8000 = octets: what the stream sends while its fragments await their ack.
        // Until an ack gave a sample, at least the initial RTO, 1 s: a generous start, as an initial window,
        // also when the handshake seeded the RTT. A stream's start can come in a burst (a muxer's first
        // output), and at a budget below the RTT whatever the window holds back waits for an ack that comes
        // after its deadline: with the seeded 42 ms here, the 40 ms bench dropped 25 fragments unsent a run.
        const auto span = ack_sampled_ ? rtt_.srtt() : std::max(rtt_.rto(), config_.rtt.initial_rto);
        window += static_cast<std::size_t>(std::uint64_t{config_.live_rate_kbps} *
                                           static_cast<std::uint64_t>(span.count()) / 8000);
    }
    return std::min<std::size_t>(window, rwnd_);
}

bool Sender::window_open() const noexcept {
    if (rwnd_ == 0) return in_flight_ == 0;  // rule b: one probe
    return in_flight_ < send_window();       // rule a
}

void Sender::finish(Fragment& f) {
    if (f.state == State::done) return;
    if (f.state == State::in_flight) in_flight_ -= f.wire_size();
    f.state = State::done;
    buffered_ -= f.size;
}

std::size_t Sender::transmit(Fragment& f, std::int64_t seq, TimePoint now, std::vector<std::uint8_t>& out) {
    const bool retransmission = f.transmissions > 0;
    FragmentHeader header = f.header;
    header.retransmission = retransmission;
    header.sequence = static_cast<std::uint16_t>(seq);
    // After this packet the window is closed: we wait for feedback, and a lost one would stall us until a
    // probe or the RTO, so the receiver repeats its feedback for such packets (feedback_pacer.hpp). A
    // sender with room to spare (the live mode, usually) does not need that, and is spared the repeats.
    header.feedback_wanted = rwnd_ == 0 || in_flight_ + f.wire_size() >= send_window();
    const auto written = append_fragment(f, header, out);
    if (!written) return 0;  // cannot happen: the plan was checked when the ADU was submitted

    if (rwnd_ == 0) ++stats_.probes;
    if (retransmission) {
        ++stats_.retransmissions;
        f.loss_counted = false;  // a new transmission: a request for it again is a new loss
        // The next request for it would reach us no sooner than one SRTT from now (the guard in
        // on_feedback): past the deadline, this is its last chance.
        if (config_.copy_last_chance_repairs && rtt_.has_sample() && now + rtt_.srtt() > f.deadline)
            copies_.push_back(Copy{seq, true});
    } else {
        ++(f.is_parity ? stats_.parity_fragments : stats_.fragments_sent);
    }
    ++f.transmissions;
    f.last_sent = now;
    f.state = State::in_flight;
    in_flight_ += f.wire_size();
    peak_in_flight_ = std::max(peak_in_flight_, in_flight_);
    if (!rto_at_) rto_at_ = now + rtt_.rto();
    probe_at_ = now + probe_timeout();
    if (!retransmission) {
        // The first fragment carries what a decoder needs to use the frame at all. When even the fastest
        // repair (its request after the receiver's reorder window, one round trip) would miss the deadline,
        // a second copy is the only protection left; it goes after the ADU's last fragment, so a loss burst
        // in between does not take both. Parity replaces it, but for a key ADU: parity rebuilds one lost
        // fragment, and a key frame is long (30 fragments at 3 Mbit/s), so it often loses two, and without
        // its head the whole GOP is lost; one more datagram per key frame is cheap.
        // Where parity is on, an ADU without it was found not worth the datagram (ParityRule::value), and
        // the copy would cost the same.
        const bool copy_wanted_by_kind =
            f.header.priority == Priority::key || (!f.header.parity && !config_.parity_when_unrepairable);
        if (f.header.fragment_index == 0 && copy_wanted_by_kind && config_.copy_unrepairable_first_fragment &&
            unrepairable(now, f.deadline, f.header.priority)) {
            f.copy_wanted = true;
        }
        if (f.last) {
            Fragment* first = find(seq - f.header.fragment_index);
            if (first != nullptr && first->copy_wanted) {
                first->copy_wanted = false;
                copies_.push_back(Copy{seq - f.header.fragment_index, false});
            }
        }
    }
    return *written;
}

std::chrono::microseconds Sender::overdue_after() const noexcept {
    // RACK's reordering window is a quarter of the minimum RTT; a quarter of SRTT here (no minimum is kept).
    return rtt_.has_sample() ? rtt_.srtt() + rtt_.srtt() / 4 : rtt_.rto();
}

std::chrono::microseconds Sender::probe_timeout() const noexcept {
    // RFC 8985 §7.2: two smoothed RTTs (at least 10 ms); the receiver's feedback interval is inside SRTT.
    if (!rtt_.has_sample()) return rtt_.rto();
    return std::max<std::chrono::microseconds>(2 * rtt_.srtt(), std::chrono::milliseconds(10));
}

Result<std::size_t> Sender::append_fragment(const Fragment& f, const FragmentHeader& header,
                                            std::vector<std::uint8_t>& out) {
    RtpFields rtp;
    rtp.payload_type = config_.payload_type;
    rtp.rtp_sequence = rtp_sequence_[header.stream]++;  // every datagram of a stream, repeats included
    rtp.rtp_timestamp = f.rtp_timestamp;
    rtp.ssrc = config_.streams[header.stream].ssrc;
    rtp.marker = f.last;
    return append_data_packet(out, rtp, header, Bytes(*f.adu).subspan(f.offset, f.size));
}

std::optional<std::size_t> Sender::resend(Fragment& f, std::int64_t seq, TimePoint now, bool feedback_wanted,
                                          std::vector<std::uint8_t>& out) {
    FragmentHeader header = f.header;
    header.retransmission = true;
    header.feedback_wanted = feedback_wanted;
    header.sequence = static_cast<std::uint16_t>(seq);
    const auto written = append_fragment(f, header, out);
    if (!written) return std::nullopt;
    // Still in flight, already counted; sent twice now, so Karn takes no sample from it.
    ++f.transmissions;
    f.last_sent = now;
    return *written;
}

std::optional<std::size_t> Sender::send_tail_probe(TimePoint now, std::vector<std::uint8_t>& out) {
    // Up to k_max_probes without an ack, each timeout twice the last (as QUIC's PTO backs off): a probe or
    // the feedback it draws can be lost too. After them the retransmission timer takes over.
    ++probes_since_ack_;
    probe_at_.reset();
    if (probes_since_ack_ < k_max_probes) probe_at_ = now + probe_timeout() * (1u << probes_since_ack_);
    for (std::int64_t seq = end_sequence() - 1; seq >= base_; --seq) {
        Fragment& f = *find(seq);
        if (f.state != State::in_flight) continue;
        // A probe exists to draw feedback, so it goes out also when its fragment is past its deadline and
        // repairs nothing: the receiver still reports on it. Where the budget is below the probe's wait
        // (10 ms at least), every probe finds its fragments late; skipping them left a full window, whose
        // feedback was lost, stalled until the 200 ms RTO, and everything submitted meanwhile expired unsent.
        const auto written = resend(f, seq, now, true, out);
        if (!written) return std::nullopt;
        if (f.deadline > now) ++stats_.retransmissions;
        ++stats_.tail_probes;
        return written;
    }
    return std::nullopt;
}

std::optional<std::size_t> Sender::send_copy(TimePoint now, std::vector<std::uint8_t>& out) {
    while (!copies_.empty()) {
        const Copy copy = copies_.front();
        copies_.pop_front();
        Fragment* f = find(copy.seq);
        // Acked or declared lost meanwhile (then the retransmission rules have it), or too late to help.
        if (f == nullptr || f->state != State::in_flight || f->deadline <= now) continue;
        const auto written = resend(*f, copy.seq, now, false, out);
        if (!written) continue;
        ++(copy.repair ? stats_.repair_copies : stats_.first_fragment_copies);
        return written;
    }
    return std::nullopt;
}

std::optional<std::size_t> Sender::next_packet(TimePoint now, std::vector<std::uint8_t>& out) {
    poll(now);
    // Tail-loss probe: nothing has been heard of what is in flight for two RTTs, and nothing else can go out
    // that would tell the receiver (nothing left to send, or the window is full). The second case is a lost
    // feedback, not a lost tail: with a window of a few fragments one feedback acks all of it, so losing it
    // would stall the sender until its RTO (200 ms at least, beyond a live deadline). As in QUIC (RFC 9002
    // §7.5), the congestion window does not block a probe.
    const bool window = window_open();
    if (probe_at_ && now >= *probe_at_ && in_flight_ > 0 && (!window || !more_to_send())) {
        if (auto n = send_tail_probe(now, out)) return n;
    }
    // RFC 6298 §5.4: a timeout's retransmission goes out at once. What the timer left in flight (sent within
    // the last round trip) may fill the window it has just cut to one MSS, and must not hold the repair
    // back until the next probe or timeout.
    if (timeout_repair_) {
        timeout_repair_ = false;
        if (auto n = send_retransmission(now, out)) return n;
    }
    if (!window) return std::nullopt;
    if (config_.pacing && now < pace_at_) {
        if (has_sendable()) ++stats_.paced_waits;
        return std::nullopt;
    }
    const auto written = next_in_window(now, out);
    if (written) pace(now, *written);
    return written;
}

std::optional<std::size_t> Sender::next_in_window(TimePoint now, std::vector<std::uint8_t>& out) {
    // A copy is due now: a first fragment's right behind its ADU (no later than the next ADU's data), a
    // last-chance repair's right behind the repair.
    if (auto n = send_copy(now, out)) return n;
    // Rule c: retransmissions first.
    if (auto n = send_retransmission(now, out)) return n;
    next_new_ = std::max(next_new_, base_);
    // Stay inside the receiver's sequence window.
    while (next_new_ < new_data_end()) {
        const std::int64_t seq = next_new_++;
        Fragment& f = *find(seq);
        if (f.state != State::queued) continue;
        if (f.deadline <= now) {  // expired while waiting for the window: never sent
            finish(f);
            ++stats_.dropped_unsent;
            continue;
        }
        if (const std::size_t n = transmit(f, seq, now, out)) return n;
    }
    return std::nullopt;
}

std::optional<std::size_t> Sender::send_retransmission(TimePoint now, std::vector<std::uint8_t>& out) {
    // Most valuable and most urgent first.
    while (!retransmit_.empty()) {
        const std::int64_t seq = std::get<2>(*retransmit_.begin());
        retransmit_.erase(retransmit_.begin());
        Fragment* f = find(seq);
        if (f == nullptr || f->state != State::lost) continue;
        if (f->deadline <= now) {
            finish(*f);
            ++stats_.dropped_unrepaired;
            continue;
        }
        if (const std::size_t n = transmit(*f, seq, now, out)) return n;
    }
    return std::nullopt;
}

void Sender::mark_acked(Fragment& f, TimePoint now, std::size_t& acked,
                        std::optional<TimePoint>& newest_single_send) {
    if (f.state == State::done || f.state == State::queued) return;
    // Karn: only a fragment sent exactly once gives an unambiguous RTT sample. And only one sent after
    // everything acked before: a cumulative ack that passes an old fragment late (the receiver gave up
    // waiting for it at its deadline) says nothing about the path's delay.
    if (f.transmissions == 1 && f.state == State::in_flight && f.last_sent >= newest_acked_send_ &&
        (!newest_single_send || f.last_sent > *newest_single_send)) {
        newest_single_send = f.last_sent;
    }
    newest_acked_send_ = std::max(newest_acked_send_, f.last_sent);
    // Counted when it was acknowledged past its frame's deadline (the ack time minus SRTT/2), though sent
    // early enough to arrive in time at the usual delay; for the record only. Lateness is not loss: this
    // rule used to be a loss event, and the feedback pacer's delay (up to 10 ms) alone made fragments that
    // arrived in time look late, so a window-limited sender with a backlog halved its window every round
    // trip without a single drop (tests/mssr/loopback_test.cpp). Drops are found by the gap ack instead
    // (detect_gap_losses), also those the receiver does not ask for; such a fragment, passed by the
    // cumulative ack once the receiver gave it up, grows nothing.
    const auto half_rtt = rtt_.has_sample() ? rtt_.srtt() / 2 : std::chrono::microseconds(0);
    if (now - half_rtt >= f.deadline && f.last_sent + half_rtt < f.deadline) ++stats_.acked_late;
    if (!f.loss_counted) acked += f.size;
    note_fate(f, false);
    finish(f);  // a fragment in the retransmission set is skipped when its turn comes
}

void Sender::mark_lost(Fragment& f, std::int64_t seq, TimePoint now, bool congestion) {
    if (f.state != State::in_flight) return;
    in_flight_ -= f.wire_size();
    f.state = State::lost;
    note_fate(f, true);
    if (congestion) count_loss(f, seq, now);
    if (f.is_parity) {  // it served, or failed to serve, its one purpose: a repair of it would come too late
        finish(f);
        return;
    }
    const StreamPolicy& policy = config_.streams[f.header.stream].policy;
    if (!worth_retransmitting(policy.mode, f.header.priority) || f.deadline <= now) {
        finish(f);
        ++stats_.dropped_unrepaired;
        return;
    }
    retransmit_.emplace(static_cast<std::uint8_t>(f.header.priority), f.deadline, seq);
    if (!next_expiry_ || f.deadline < *next_expiry_) next_expiry_ = f.deadline;
}

void Sender::note_fate(Fragment& f, bool lost) noexcept {
    if (f.fate_counted) return;
    f.fate_counted = true;
    if (lost) {
        loss_.on_lost();
    } else {
        loss_.on_delivered();
    }
}

std::size_t Sender::parity_count(std::size_t count, Priority priority, std::size_t span) const noexcept {
    const std::size_t fixed = parity_groups(count, priority, config_.key_parity_group);
    if (config_.header_version != k_version_parity_count) return fixed;
    const auto loss = loss_.fraction();
    if (!loss) return fixed;  // too few fates known yet
    if (config_.parity_rule == ParityRule::value) {
        return parity_count_for_value(count, *loss, static_cast<double>(span),
                                      config_.parity_frames_per_datagram)
            .value_or(fixed);
    }
    const double residual = priority == Priority::key          ? config_.parity_residual_key
                            : priority == Priority::disposable ? config_.parity_residual_disposable
                                                               : config_.parity_residual;
    return parity_count_for(count, *loss, residual).value_or(fixed);
}

void Sender::count_loss(Fragment& f, std::int64_t seq, TimePoint now) {
    note_fate(f, true);
    last_loss_ = now;
    if (f.loss_counted) return;
    f.loss_counted = true;
    cc_.on_loss(seq, sent_end());
}

bool Sender::unrepairable(TimePoint now, TimePoint deadline, Priority priority) const noexcept {
    if (!rtt_.has_sample()) {
        return config_.protect_before_rtt && priority == Priority::key &&
               now + rtt_.rto() + config_.reorder_allowance >= deadline;
    }
    // A request comes a reorder window after the loss, its answer one round trip later.
    return now + rtt_.srtt() + config_.reorder_allowance >= deadline && protects(now, priority);
}

bool Sender::protects(TimePoint now, Priority priority) const noexcept {
    if (priority == Priority::key || config_.protect_after_loss.count() == 0) return true;
    return last_loss_ && now - *last_loss_ < config_.protect_after_loss;
}

void Sender::detect_gap_losses(TimePoint now, const FeedbackView& feedback, std::int64_t cum) {
    const auto overdue = overdue_after();
    // Ranges may come in any order; walk them from the highest down, counting the fragments acked above.
    // The count field has 8 bits: a fixed array, no allocation per feedback.
    std::array<std::pair<std::int64_t, std::int64_t>, 255> ranges;  // [start, end)
    const std::size_t count = std::min(feedback.ack_count(), ranges.size());
    for (std::size_t i = 0; i < count; ++i) {
        const AckRange range = feedback.ack(i);
        const std::int64_t start = extend_seq16(range.start, cum);
        ranges[i] = {start, start + range.count};
    }
    std::sort(ranges.begin(), ranges.begin() + static_cast<std::ptrdiff_t>(count), std::greater<>());
    std::int64_t acked_above = 0;
    for (std::size_t i = 0; i < count; ++i) {
        acked_above += ranges[i].second - ranges[i].first;
        if (acked_above < k_dup_threshold) continue;
        // The hole below this range, down to the next range or the cumulative ack.
        const std::int64_t hole_end = std::min(ranges[i].first, end_sequence());
        const std::int64_t hole_start = std::max(i + 1 < count ? ranges[i + 1].second : cum, base_);
        for (std::int64_t seq = hole_start; seq < hole_end; ++seq) {
            Fragment& f = *find(seq);
            // A retransmission sits below fragments acked long before it was sent: only the receiver's
            // request can tell that it was lost too.
            if (f.state != State::in_flight) continue;
            // A hole at all keeps unrepairable ADUs protected (protects()), also one the receiver rebuilt
            // from parity and so never shows overdue, or one only reordered: protection there costs little.
            // The loss estimate takes it as lost for the same reason: a fragment rebuilt from parity was lost
            // on the wire, and its hole shows only until the receiver's next cumulative ack passes it.
            last_loss_ = now;
            note_fate(f, true);
            if (f.loss_counted || f.transmissions > 1) continue;
            if (now - f.last_sent < overdue) continue;  // only reordered, perhaps: the next feedback decides
            ++stats_.gap_losses;
            count_loss(f, seq, now);
        }
    }
}

void Sender::on_feedback(TimePoint now, const FeedbackView& feedback) {
    const std::int64_t end = end_sequence();
    const std::int64_t cum = extend_seq16(feedback.cumulative_ack(), end);
    if (cum > end) return;  // acknowledges what we never sent: not for us, or forged
    rwnd_ = feedback.receive_window();

    std::size_t acked = 0;
    std::optional<TimePoint> newest_single_send;
    for (std::int64_t seq = base_; seq < cum; ++seq)
        mark_acked(*find(seq), now, acked, newest_single_send);
    for (std::size_t i = 0; i < feedback.ack_count(); ++i) {
        const AckRange range = feedback.ack(i);
        const std::int64_t start = extend_seq16(range.start, cum);
        for (std::int64_t seq = std::max(start, base_); seq < std::min(start + range.count, end); ++seq)
            mark_acked(*find(seq), now, acked, newest_single_send);
    }
    for (std::size_t i = 0; i < feedback.nack_count(); ++i) {
        const NackBlock block = feedback.nack(i);
        const std::int64_t pid = extend_seq16(block.pid, cum);
        for (int bit = -1; bit < 16; ++bit) {
            if (bit >= 0 && (block.blp & (1u << bit)) == 0) continue;
            const std::int64_t seq = pid + bit + 1;
            Fragment* f = find(seq);
            if (f == nullptr || f->state != State::in_flight) continue;
            // A request may predate our last retransmission's arrival: resend at most once per RTT.
            if (f->transmissions > 1 && now - f->last_sent < rtt_.srtt()) continue;
            ++stats_.fast_retransmits;
            mark_lost(*f, seq, now, true);
        }
    }
    detect_gap_losses(now, feedback, cum);
    if (newest_single_send) {
        rtt_.on_sample(std::chrono::duration_cast<std::chrono::microseconds>(now - *newest_single_send));
        ack_sampled_ = true;
    }
    if (acked > 0) {
        cc_.on_ack(acked, peak_in_flight_ * 2 >= cc_.window());
        rto_at_.reset();  // RFC 6298 §5.3: restart the timer on new acknowledgements
        probes_since_ack_ = 0;
        if (in_flight_ > 0) {
            rto_at_ = now + rtt_.rto();
            probe_at_ = now + probe_timeout();
        }
    }
    if (in_flight_ == 0) {
        rto_at_.reset();
        probe_at_.reset();
    }
    peak_in_flight_ = in_flight_;
    trim();
}

void Sender::seed_rtt(std::chrono::microseconds sample) noexcept {
    if (rtt_.has_sample()) return;  // the path's own samples are newer than the handshake
    rtt_.on_sample(sample);
}

void Sender::expire(TimePoint now) {
    if (!next_expiry_ || now < *next_expiry_) return;
    next_expiry_.reset();
    for (Fragment& f : buffer_) {
        if (f.state != State::queued && f.state != State::lost) continue;
        if (f.deadline <= now) {
            if (f.state == State::queued) {
                ++stats_.dropped_unsent;
            } else {
                ++stats_.dropped_unrepaired;
            }
            finish(f);
        } else if (!next_expiry_ || f.deadline < *next_expiry_) {
            next_expiry_ = f.deadline;
        }
    }
}

void Sender::poll(TimePoint now) {
    if (rto_at_ && now >= *rto_at_) {
        // RFC 6298 §5.4-5.6: back off. What is lost follows RFC 8985 §6.3: the oldest fragment in flight, and
        // every other one that has had its round trip to be acked. The timer runs from the last ack, not
        // from each transmission, so it can fire right after new fragments went out (a source that paused,
        // a window that had just opened): presuming those lost as well resent them needlessly. One past its
        // deadline is let go whatever its age (mark_lost finishes it): it can no longer be of use, and would
        // only hold the window (a tail-loss probe may have just resent it).
        ++stats_.timeouts;
        const auto overdue = overdue_after();
        cc_.on_timeout(in_flight_, sent_end());
        rtt_.on_timeout();
        bool oldest = true;
        for (std::int64_t seq = base_; seq < end_sequence(); ++seq) {
            Fragment& f = *find(seq);
            if (f.state != State::in_flight) continue;
            if (oldest || now - f.last_sent >= overdue || f.deadline <= now) mark_lost(f, seq, now, false);
            oldest = false;
        }
        timeout_repair_ = true;
        rto_at_.reset();
        if (in_flight_ > 0) rto_at_ = now + rtt_.rto();  // for those still on their way, backed off
    }
    expire(now);
    trim();
}

void Sender::trim() {
    while (!buffer_.empty() && buffer_.front().state == State::done) {
        buffer_.pop_front();
        ++base_;
    }
}

std::optional<TimePoint> Sender::next_wakeup() const {
    std::optional<TimePoint> earliest = next_expiry_;
    const bool window = window_open();
    // The tail-loss probe goes out only when nothing else can (next_packet()); while data waits for the
    // pacer, the pacer's time is the next event. Neither is a wake-up unless something waits for it: a time
    // in the past would wake the caller at once, again and again.
    const std::optional<TimePoint> probe = window && more_to_send() ? std::nullopt : probe_at_;
    std::optional<TimePoint> paced;
    if (config_.pacing && window && has_sendable()) paced = pace_at_;
    for (const auto& t : {rto_at_, probe, paced}) {
        if (t && (!earliest || *t < *earliest)) earliest = t;
    }
    return earliest;
}

bool Sender::more_to_send() const noexcept {
    return !retransmit_.empty() || std::max(next_new_, base_) < new_data_end();
}

bool Sender::has_sendable() const noexcept {
    return !copies_.empty() || more_to_send();
}

std::optional<double> Sender::pacing_ns_per_octet() const noexcept {
    if (!config_.pacing || !rtt_.has_sample()) return std::nullopt;
    const std::size_t window = send_window();
    const std::uint32_t percent =
        cc_.in_slow_start() ? config_.pacing_slow_start_percent : config_.pacing_percent;
    if (window == 0 || percent == 0) return std::nullopt;
    // SRTT / (percent/100 x window); in floating point, as octets x SRTT in nanoseconds overflows 64 bits for
    // long RTTs and large datagrams.
    const double srtt_ns = static_cast<double>(std::chrono::nanoseconds(rtt_.srtt()).count());
    return srtt_ns * 100.0 / (static_cast<double>(percent) * static_cast<double>(window));
}

std::optional<double> Sender::deadline_ns_per_octet(TimePoint now) const noexcept {
    const std::int64_t seq = std::max(next_new_, base_);
    if (seq >= new_data_end()) return std::nullopt;
    const Fragment& f = buffer_[static_cast<std::size_t>(seq - base_)];
    const std::size_t size = fragment_size(config_.mss, config_.header_version);
    const std::size_t count = fragment_count(f.header.adu_length, size);
    const std::size_t parities = parity_count_of(f.header, count, config_.key_parity_group);
    // What is left of the ADU from this fragment on, parity included, as full datagrams (at most one too
    // many).
    const std::size_t left =
        (count + parities - std::min<std::size_t>(f.header.fragment_index, count + parities)) *
        (size + packet_overhead(config_.header_version));
    // Its last first transmission must leave one way before the deadline, and, where the budget has room for
    // a repair (a request after the reorder window, one round trip), that much earlier too.
    auto available = f.deadline - now - rtt_.srtt() / 2;
    const auto repair = rtt_.srtt() + config_.reorder_allowance;
    if (available > 2 * repair) available -= repair;
    if (available <= TimePoint::duration::zero() || left == 0) return 0.0;
    return static_cast<double>(std::chrono::nanoseconds(available).count()) / static_cast<double>(left);
}

void Sender::pace(TimePoint now, std::size_t octets) {
    auto ns_per_octet = pacing_ns_per_octet();
    if (!ns_per_octet) return;
    // Pacing spreads a frame over the round trip, which at a budget near the RTT is longer than the frame
    // has. The live mode, whose window is the stream's rate whatever the path says, puts deadlines first:
    // never slower than what gets the next ADU out in time. The TCP-friendly modes do not: their window is
    // what the path carries, and faster only overflows the bottleneck's queue (in the simulated bottleneck,
    // loopback_test.cpp, twice the drops).
    if (config_.live_rate_kbps != 0) {
        if (const auto in_time = deadline_ns_per_octet(now)) ns_per_octet = std::min(*ns_per_octet, *in_time);
    }
    const auto duration_of = [&](std::size_t n) {
        return std::chrono::duration_cast<TimePoint::duration>(
            std::chrono::nanoseconds(static_cast<std::int64_t>(static_cast<double>(n) * *ns_per_octet)));
    };
    // A token bucket of pacing_burst_packets full datagrams: after a pause that many go back to back, then
    // one per interval. The bucket is never fuller than that, however long the pause was.
    const std::size_t burst_octets =
        (std::max<std::size_t>(config_.pacing_burst_packets, 1) - 1) * config_.mss;
    pace_at_ = std::max(pace_at_, now - duration_of(burst_octets)) + duration_of(octets);
}

}  // namespace sg::mssr
