#include "mssr/reassembler.hpp"

#include <algorithm>
#include <limits>

#include "mssr/fragmenter.hpp"

namespace sg::mssr {
namespace {

// Bookkeeping charged per ADU on top of its buffer, so a flood of tiny ADUs is bounded too.
constexpr std::size_t k_adu_overhead = 128;
// Extended values start here so that nothing goes negative near the first packet.
constexpr std::int64_t k_extended_base = std::int64_t{1} << 32;
// The repair round trip is the minimum over windows of this long (the current one and the last), the
// reordering the path shows the maximum.
constexpr auto k_repair_window = std::chrono::seconds(10);
constexpr auto k_reorder_memory = std::chrono::seconds(10);

}  // namespace

Reassembler::Reassembler(ReassemblerConfig config)
    : config_(std::move(config)),
      fragment_size_(fragment_size(config_.mss, config_.header_version)),
      slots_(static_cast<std::size_t>(k_window)),
      streams_(std::clamp<std::size_t>(config_.max_streams, 1, 256)),
      repair_min_(k_repair_window),
      reorder_max_(k_reorder_memory) {
    // An ADU must fit the sequence window, or its tail could never be tracked.
    if (fragment_size_ != 0) {
        config_.max_adu_bytes =
            std::min(config_.max_adu_bytes, fragment_size_ * static_cast<std::size_t>(k_window / 2));
    }
    config_.max_adu_bytes = std::min<std::size_t>(config_.max_adu_bytes, k_max_adu_size);
}

const StreamPolicy& Reassembler::policy(std::uint8_t stream) const {
    return stream < config_.streams.size() ? config_.streams[stream] : config_.default_policy;
}

const StreamStats& Reassembler::stream_stats(std::uint8_t stream) const {
    static const StreamStats none;
    return stream < streams_.size() ? streams_[stream].stats : none;
}

std::uint32_t Reassembler::receive_window() const noexcept {
    const std::size_t free =
        config_.max_total_bytes > total_bytes_ ? config_.max_total_bytes - total_bytes_ : 0;
    return static_cast<std::uint32_t>(std::min<std::size_t>(free, std::numeric_limits<std::uint32_t>::max()));
}

TimePoint Reassembler::deadline(std::uint8_t stream, const Adu& adu) const {
    const std::int64_t local_ms = adu.time_ms + offset_ms_ + policy(stream).latency.count();
    return TimePoint(std::chrono::duration_cast<TimePoint::duration>(Millis(local_ms)));
}

std::chrono::milliseconds Reassembler::max_latency() const {
    std::chrono::milliseconds latency = config_.default_policy.latency;
    for (const StreamPolicy& p : config_.streams)
        latency = std::max(latency, p.latency);
    return latency;
}

bool Reassembler::unknown_run_requested(std::int64_t seq) const {
    const auto limit = static_cast<std::int64_t>(config_.max_unknown_run_requested);
    if (limit == 0) return false;
    const auto unknown = [this](std::int64_t s) {
        return s >= cum_ && s < highest_ &&
               slots_[static_cast<std::size_t>(s & (k_window - 1))].state == SlotState::unknown &&
               owner(s) == nullptr;
    };
    std::int64_t run = 1;
    for (std::int64_t s = seq - 1; run <= limit && unknown(s); --s)
        ++run;
    for (std::int64_t s = seq + 1; run <= limit && unknown(s); ++s)
        ++run;
    return run <= limit;
}

TimePoint Reassembler::unknown_deadline(std::int64_t seq, std::chrono::milliseconds latency) {
    const std::int64_t local_ms = slot(seq).time_bound_ms + offset_ms_ + latency.count();
    return TimePoint(std::chrono::duration_cast<TimePoint::duration>(Millis(local_ms)));
}

const Reassembler::AduRef* Reassembler::owner(std::int64_t seq) const {
    auto it = by_first_seq_.upper_bound(seq);
    if (it == by_first_seq_.begin()) return nullptr;
    --it;
    return seq < it->first + it->second.span ? &it->second : nullptr;
}

std::int64_t Reassembler::extend_time(TimePoint now, std::uint16_t wire) const noexcept {
    // The sender's clock now, as far as we can tell (the fastest path's offset): a packet's ADU time lies
    // at most its stream's latency (30 s at most, handshake.hpp) behind it, well inside the 32.7 s either
    // side that 16 bits tell apart. Unlike the newest ADU time seen, this reference survives a pause of
    // the source longer than the wrap.
    const std::int64_t reference = have_offset_ ? to_millis(now) - offset_ms_ : last_time_ms_;
    return extend_seq16(wire, reference);
}

void Reassembler::on_packet(TimePoint now, Bytes datagram) {
    ++stats_.packets;
    last_wants_feedback_ = false;
    const auto packet = parse_data_packet(datagram);
    if (!packet || fragment_size_ == 0 || packet->header.stream >= streams_.size() ||
        packet->header.version != config_.header_version) {
        ++stats_.invalid;
        return;
    }
    const FragmentHeader& h = packet->header;
    last_wants_feedback_ = h.feedback_wanted;
    // Fragment geometry must follow the sender's rule (all but the last exactly fragment_size_ long).
    std::optional<std::uint32_t> offset;
    if (!is_parity_fragment(h, packet->fragment.size(), fragment_size_, config_.key_parity_group)) {
        offset = fragment_offset(h, packet->fragment.size(), fragment_size_);
        if (!offset) {
            ++stats_.invalid;
            return;
        }
    }
    if (h.adu_length > config_.max_adu_bytes) {
        ++stats_.over_limit;
        return;
    }
    accept(now, *packet, offset);
    poll(now);
}

void Reassembler::accept(TimePoint now, const DataPacketView& packet, std::optional<std::uint32_t> offset) {
    const FragmentHeader& h = packet.header;
    const std::uint32_t index = h.fragment_index;
    const bool is_parity = !offset;
    const auto count = static_cast<std::uint32_t>(fragment_count(h.adu_length, fragment_size_));
    const auto parities = static_cast<std::uint32_t>(parity_count_of(h, count, config_.key_parity_group));
    const std::uint32_t span = count + parities;
    if (parities > count || span > std::uint32_t{k_max_fragment_index} + 1) {  // no sender of ours plans that
        ++stats_.invalid;
        return;
    }

    std::int64_t seq = 0;
    if (!started_) {
        started_ = true;
        seq = k_extended_base + h.sequence;
        cum_ = seq - index;  // the first fragments of this ADU may still come
        highest_ = cum_ - 1;
        last_time_ms_ = k_extended_base + h.adu_time_ms;
    } else {
        seq = extend_seq16(h.sequence, highest_);
        if (seq >= cum_ + k_window) {
            ++stats_.out_of_window;
            return;
        }
        if (seq < cum_ - k_window) {
            ++stats_.out_of_window;
            return;
        }
    }

    const std::int64_t time_ms = extend_time(now, h.adu_time_ms);
    Stream& stream = streams_[h.stream];
    std::int64_t sseq = 0;
    if (!stream.started) {
        sseq = k_extended_base + h.stream_sequence;
    } else {
        sseq = extend_seq16(h.stream_sequence, stream.highest);
        if (sseq < stream.next) {
            // A parity fragment often comes after its ADU was complete: it was not needed.
            ++(is_parity ? stats_.parity_fragments : stream.stats.late_fragments);
            if (in_window(seq)) slot(seq).state = SlotState::received;
            // The parity fragments are their ADU's highest numbers, and often the newest of all: acked at
            // once, so that a stream's last one does not wait in the sender for its retransmission timer.
            if (is_parity) raise_highest(now, seq, time_ms);
            return;
        }
    }

    auto it = stream.pending.find(sseq);
    if (it == stream.pending.end()) {
        const std::int64_t first = seq - index;
        // Fragment ranges of distinct ADUs never overlap.
        for (std::int64_t s : {first, first + span - 1}) {
            if (owner(s) != nullptr) {
                ++stats_.invalid;
                return;
            }
        }
        const auto next_range = by_first_seq_.lower_bound(first);
        if (next_range != by_first_seq_.end() && next_range->first < first + span) {
            ++stats_.invalid;
            return;
        }
        // A jump past what may wait (a long outage at the sender): give up what lies before the new span.
        // Only for a fragment that passed every other check, so garbage cannot flush a stream.
        const auto may_wait = static_cast<std::int64_t>(config_.max_pending_adus);
        if (stream.started && sseq >= stream.next + may_wait) skip_to(h.stream, stream, sseq - may_wait + 1);
        const std::size_t charge = h.adu_length + count + k_adu_overhead +
                                   parities * parity_fragment_size(h.adu_length, fragment_size_);
        if (total_bytes_ + charge > config_.max_total_bytes ||
            stream.bytes + charge > config_.max_stream_bytes ||
            stream.pending.size() >= config_.max_pending_adus) {
            ++stats_.over_limit;
            return;
        }
        if (!stream.started) {
            stream.started = true;
            stream.next = sseq;
            stream.highest = sseq;
        }
        Adu adu;
        adu.first_seq = first;
        adu.count = count;
        adu.length = h.adu_length;
        adu.time_ms = time_ms;
        adu.priority = h.priority;
        adu.rtp_timestamp = packet.rtp.timestamp();
        adu.wire_stream_sequence = h.stream_sequence;
        adu.charge = charge;
        adu.data.assign(h.adu_length, 0);
        adu.have.assign(count, false);
        adu.have_parity.assign(parities, false);
        adu.parity_data.resize(parities);
        // Group g's members are g, g + parities, ... below count.
        for (std::uint32_t g = 0; g < parities; ++g)
            adu.group_missing.push_back((count - g + parities - 1) / parities);
        adu.cauchy = parity_code(count, parities, config_.cauchy_parity) == ParityCode::cauchy;
        total_bytes_ += charge;
        stream.bytes += charge;
        by_first_seq_[first] = AduRef{h.stream, sseq, span};
        it = stream.pending.emplace(sseq, std::move(adu)).first;
    }
    Adu& adu = it->second;
    if (adu.length != h.adu_length || adu.first_seq != seq - index || adu.priority != h.priority ||
        adu.time_ms != time_ms || adu.parity() != h.parity || adu.parities() != parities) {
        ++stats_.invalid;
        return;
    }
    const auto group = h.parity ? static_cast<std::uint32_t>(parity_group_of(index, count, parities)) : 0;
    if (is_parity ? adu.have_parity[group] : adu.have[index]) {
        ++stream.stats.duplicates;
        if (in_window(seq)) slot(seq).state = SlotState::received;
        return;
    }

    // Accepted: from here on the packet counts.
    ++(is_parity ? stats_.parity_fragments : stream.stats.fragments);
    stream.highest = std::max(stream.highest, sseq);
    const std::int64_t clock_offset = to_millis(now) - time_ms;
    if (!have_offset_ || clock_offset < offset_ms_) offset_ms_ = clock_offset;
    have_offset_ = true;

    if (is_parity) {
        adu.have_parity[group] = true;
        adu.parity_data[group].assign(packet.fragment.begin(), packet.fragment.end());
    } else {
        adu.have[index] = true;
        ++adu.received;
        if (adu.parity()) --adu.group_missing[group];
        std::copy(packet.fragment.begin(), packet.fragment.end(),
                  adu.data.begin() + static_cast<std::ptrdiff_t>(*offset));
    }

    if (in_window(seq)) {
        Slot& arrived = slot(seq);
        // A retransmission of what we asked for measures a repair; a requested fragment that was only late
        // (reordered past the reorder window) would not.
        if (arrived.requested_at && h.retransmission) on_repair(now, *arrived.requested_at);
        // A first transmission that comes after a later number was only reordered: the path's measure.
        if (!h.retransmission && arrived.noticed) on_reordered(now, arrived);
        arrived.state = SlotState::received;
    }
    raise_highest(now, seq, time_ms);
    if (adu.cauchy) {
        recover_from_cauchy(adu);
    } else if (adu.parity() && adu.have_parity[group] && adu.group_missing[group] == 1) {
        recover_from_parity(adu, group);
    }
}

void Reassembler::raise_highest(TimePoint now, std::int64_t seq, std::int64_t time_ms) {
    if (seq <= highest_) return;
    for (std::int64_t s = std::max(highest_ + 1, cum_); s < seq; ++s) {
        Slot& gap = slot(s);
        if (gap.state == SlotState::unknown && !gap.noticed) {
            gap.noticed = true;
            gap.noticed_at = now;
            gap.time_bound_ms = time_ms;  // numbers follow submission order: the gap is no younger
            gap_pending_ = true;
            last_request_due_ = now + reorder_window(now);  // only where a gap opens: off the usual path
            if (!request_due_) request_due_ = last_request_due_;
        }
    }
    highest_ = seq;
}

void Reassembler::recover_from_parity(Adu& adu, std::uint32_t group) {
    const std::uint32_t groups = adu.parities();
    std::optional<std::uint32_t> missing;  // the group's one missing member (group_missing says there is one)
    for (std::uint32_t i = group; i < adu.count && !missing; i += groups) {
        if (!adu.have[i]) missing = i;
    }
    if (!missing) return;
    const std::size_t offset = std::size_t{*missing} * fragment_size_;
    const std::size_t size = std::min<std::size_t>(fragment_size_, adu.length - offset);
    // The missing fragment's octets are still the zeros the buffer started with, so the group's parity of
    // the ADU as it stands is the parity of the others, and XORed with the sender's it leaves the missing
    // one.
    std::vector<std::uint8_t> rebuilt = parity_of(adu.data, fragment_size_, groups, group);
    xor_into(rebuilt, adu.parity_data[group]);
    std::copy_n(rebuilt.begin(), size, adu.data.begin() + static_cast<std::ptrdiff_t>(offset));
    adu.group_missing[group] = 0;
    adu.parity_data[group] = {};  // used: nothing more to rebuild in this group
    mark_recovered(adu, *missing);
}

void Reassembler::recover_from_cauchy(Adu& adu) {
    const std::uint32_t missing_count = adu.count - adu.received;
    if (missing_count == 0) return;
    // Counted first: this runs for every fragment of the ADU, and most find too few parity fragments yet.
    if (static_cast<std::size_t>(std::count(adu.have_parity.begin(), adu.have_parity.end(), true)) <
        missing_count)
        return;
    std::vector<ParityRow> rows;
    for (std::uint32_t row = 0; row < adu.parities() && rows.size() < missing_count; ++row) {
        if (adu.have_parity[row]) rows.push_back(ParityRow{row, adu.parity_data[row]});
    }
    std::vector<std::size_t> missing;
    for (std::uint32_t i = 0; i < adu.count; ++i) {
        if (!adu.have[i]) missing.push_back(i);
    }
    // The missing fragments' octets are still the zeros the buffer started with, as the code needs.
    if (!recover_cauchy(adu.data, fragment_size_, adu.parities(), missing, rows)) return;
    for (std::size_t index : missing)
        mark_recovered(adu, static_cast<std::uint32_t>(index));
    for (auto& parity : adu.parity_data)
        parity = {};  // nothing is left to rebuild
}

void Reassembler::mark_recovered(Adu& adu, std::uint32_t index) {
    adu.have[index] = true;
    ++adu.received;
    ++stats_.parity_recovered;
    const std::int64_t seq = adu.first_seq + index;
    if (in_window(seq) && slot(seq).state == SlotState::unknown) slot(seq).state = SlotState::abandoned;
}

void Reassembler::close_adu(std::uint8_t stream_number, Stream& stream,
                            std::map<std::int64_t, Adu>::iterator it, bool complete) {
    Adu& adu = it->second;
    Delivery d;
    d.stream = stream_number;
    d.stream_sequence = adu.wire_stream_sequence;
    d.priority = adu.priority;
    d.rtp_timestamp = adu.rtp_timestamp;
    d.time_ms = static_cast<std::uint32_t>(adu.time_ms);
    if (complete) {
        d.outcome = Delivery::Outcome::complete;
        d.data = std::move(adu.data);
        ++stream.stats.adus_complete;
        if (adu.priority == Priority::key) ++stream.stats.key_adus_complete;
    } else {
        for (std::uint32_t i = 0; i < adu.count; ++i) {
            const std::int64_t seq = adu.first_seq + i;
            if (!adu.have[i] && in_window(seq)) slot(seq).state = SlotState::abandoned;
        }
        if (adu.priority == Priority::key) ++stream.stats.key_adus_incomplete;
        if (policy(stream_number).late == LatePolicy::partial) {
            d.outcome = Delivery::Outcome::partial;
            d.data = std::move(adu.data);
            d.received = std::move(adu.have);
            d.fragment_size = fragment_size_;
            ++stream.stats.adus_partial;
        } else {
            d.outcome = Delivery::Outcome::lost;
            ++stream.stats.adus_lost;
        }
    }
    // A parity fragment not (yet) here is no longer wanted; if it comes, it is acked as it arrives.
    for (std::uint32_t group = 0; group < adu.parities(); ++group) {
        const std::int64_t parity_seq = adu.first_seq + adu.count + group;
        if (!adu.have_parity[group] && in_window(parity_seq) && slot(parity_seq).state == SlotState::unknown)
            slot(parity_seq).state = SlotState::abandoned;
    }
    deliveries_.push_back(std::move(d));
    total_bytes_ -= adu.charge;
    stream.bytes -= adu.charge;
    by_first_seq_.erase(adu.first_seq);
    stream.next = it->first + 1;
    stream.pending.erase(it);
}

void Reassembler::report_whole_loss(std::uint8_t stream_number, Stream& stream, std::int64_t until) {
    if (until <= stream.next) return;
    Delivery d;
    d.outcome = Delivery::Outcome::lost;
    d.stream = stream_number;
    d.stream_sequence = static_cast<std::uint16_t>(stream.next);
    d.lost_count = static_cast<std::uint32_t>(until - stream.next);
    d.whole_adu_lost = true;
    stream.stats.adus_lost += d.lost_count;
    stream.stats.adus_whole_lost += d.lost_count;
    deliveries_.push_back(std::move(d));
    stream.next = until;
}

void Reassembler::skip_to(std::uint8_t stream_number, Stream& stream, std::int64_t new_next) {
    while (!stream.pending.empty() && stream.pending.begin()->first < new_next) {
        auto head = stream.pending.begin();
        report_whole_loss(stream_number, stream, head->first);
        close_adu(stream_number, stream, head, head->second.received == head->second.count);
    }
    report_whole_loss(stream_number, stream, new_next);
}

bool Reassembler::gaps_settled(std::int64_t below, TimePoint now, std::chrono::milliseconds latency) {
    // Bounded look-back: enough for any reordering the window allows at media rates.
    constexpr std::int64_t k_look_back = 1024;
    const auto window = reorder_window(now);
    for (std::int64_t s = below - 1; s >= std::max(cum_, below - k_look_back); --s) {
        const Slot& sl = slot(s);
        if (sl.state != SlotState::unknown || owner(s) != nullptr) continue;
        if (!sl.noticed) return false;
        // A requested gap may still be repaired: our missing ADU could be it until its deadline.
        const TimePoint settles =
            unknown_run_requested(s) ? unknown_deadline(s, latency) : sl.noticed_at + window;
        if (settles > now) {
            if (!reorder_wakeup_ || settles < *reorder_wakeup_) reorder_wakeup_ = settles;
            return false;
        }
    }
    return true;
}

void Reassembler::deliver_head(std::uint8_t stream_number, Stream& stream, TimePoint now) {
    while (!stream.pending.empty()) {
        auto head = stream.pending.begin();
        const bool complete = head->second.received == head->second.count;
        const bool expired = deadline(stream_number, head->second) <= now;
        if (head->first != stream.next) {
            // Case d: stream.next was never seen. Its fragments numbered below the successor's (numbers
            // follow submission order), so once the successor can go out and every unexplained gap below it
            // has outlasted the reorder window, the missing ADUs are lost, not late.
            if (!complete && !expired) return;
            if (!expired && !gaps_settled(head->second.first_seq, now, policy(stream_number).latency)) return;
            report_whole_loss(stream_number, stream, head->first);
        }
        if (!complete && !expired) return;
        close_adu(stream_number, stream, head, complete);
    }
}

void Reassembler::advance_cumulative(TimePoint now) {
    while (cum_ <= highest_) {
        Slot& s = slot(cum_);
        if (s.state == SlotState::unknown) {
            if (owner(cum_) != nullptr) break;  // a fragment of an ADU still being reassembled
            // Part of no known ADU: a whole ADU lost (or dropped at the sender). Wait out reordering, and for
            // a requested one its deadline (whichever stream it is, so the longest budget): acking it would
            // make the sender drop it.
            if (!s.noticed || !s.reported || now - s.noticed_at < reorder_window(now)) break;
            // (Once the first number of a long run is passed, the rest of it is too: passing shortens the
            // run as seen from above.)
            if (!passing_unknown_run_) {
                if (unknown_run_requested(cum_) && now < unknown_deadline(cum_, max_latency())) break;
                passing_unknown_run_ = true;
            }
        } else {
            // A fragment of an ADU given up: passed once a feedback showed it missing (see Slot::reported).
            if (s.state == SlotState::abandoned && !s.reported) break;
            passing_unknown_run_ = false;
        }
        s = Slot{};
        ++cum_;
    }
}

void Reassembler::poll(TimePoint now) {
    reorder_wakeup_.reset();
    for (std::size_t i = 0; i < streams_.size(); ++i)
        deliver_head(static_cast<std::uint8_t>(i), streams_[i], now);
    if (started_) advance_cumulative(now);
}

std::optional<TimePoint> Reassembler::next_deadline() const {
    std::optional<TimePoint> earliest = reorder_wakeup_;
    for (std::size_t i = 0; i < streams_.size(); ++i) {
        if (streams_[i].pending.empty()) continue;
        const TimePoint t = deadline(static_cast<std::uint8_t>(i), streams_[i].pending.begin()->second);
        if (!earliest || t < *earliest) earliest = t;
    }
    return earliest;
}

void Reassembler::on_repair(TimePoint now, TimePoint requested_at) {
    repair_min_.add(now, std::chrono::duration_cast<std::chrono::microseconds>(now - requested_at));
}

std::optional<std::chrono::microseconds> Reassembler::repair_round_trip() const noexcept {
    return repair_min_.last_known();
}

void Reassembler::on_reordered(TimePoint now, const Slot& arrived) {
    ++stats_.reordered;
    if (arrived.requested_at) ++stats_.spurious_requests;
    reorder_max_.add(now, std::chrono::duration_cast<std::chrono::microseconds>(now - arrived.noticed_at));
}

std::chrono::microseconds Reassembler::reorder_window(TimePoint now) const {
    const std::chrono::microseconds floor = config_.reorder_window;
    const std::chrono::microseconds cap =
        std::max<std::chrono::microseconds>(floor, config_.max_reorder_window);
    const auto seen = reorder_max_.get(now);
    if (!seen) return floor;
    return std::clamp<std::chrono::microseconds>(*seen + *seen / 4, floor, cap);
}

Feedback Reassembler::make_feedback(TimePoint now) {
    poll(now);
    gap_pending_ = false;
    // Gaps whose reorder window ran out are requested below; one still inside it will be due later (the
    // newest noticed: ones in between come out with it, at most a reorder window late).
    if (request_due_ && *request_due_ <= now) {
        request_due_.reset();
        if (last_request_due_ && *last_request_due_ > now) request_due_ = last_request_due_;
        last_request_due_.reset();
    }
    Feedback f;
    f.ssrc = config_.ssrc;
    f.receive_window = receive_window();
    f.cumulative_ack = static_cast<std::uint16_t>(cum_);
    if (!started_) return f;

    // Received ranges above the cumulative ack; truncation only hides acks, which is safe.
    for (std::int64_t s = cum_; s <= highest_ && f.acks.size() < k_feedback_block_budget;) {
        if (slot(s).state != SlotState::received) {
            slot(s).reported = true;  // a range above it follows
            ++s;
            continue;
        }
        const std::int64_t start = s;
        while (s <= highest_ && s - start < 0xffff && slot(s).state == SlotState::received)
            ++s;
        f.acks.push_back(AckRange{static_cast<std::uint16_t>(start), static_cast<std::uint16_t>(s - start)});
    }

    // Requests: fragments of known ADUs, missing for longer than the reorder window, worth resending, in
    // time.
    const auto window = reorder_window(now);
    for (std::int64_t s = cum_; s < highest_ && f.nacks.size() <= k_feedback_block_budget; ++s) {
        Slot& sl = slot(s);
        if (sl.state != SlotState::unknown || !sl.noticed || now - sl.noticed_at < window) continue;
        const AduRef* ref = owner(s);
        if (ref == nullptr) {
            // Case d: a whole ADU. Requested only when it can be no more than a few one-fragment ADUs (the
            // sender applies the stream's mode and deadline, which only it knows for this number).
            if (!unknown_run_requested(s) || unknown_deadline(s, max_latency()) <= now) continue;
        } else {
            const Adu& adu = streams_[ref->stream].pending.at(ref->stream_sequence);
            if (s >= adu.first_seq + adu.count) continue;  // a parity fragment: never repeated
            if (!worth_retransmitting(policy(ref->stream).mode, adu.priority)) continue;
            if (deadline(ref->stream, adu) <= now) continue;
        }
        const auto seq16 = static_cast<std::uint16_t>(s);
        if (!f.nacks.empty()) {
            NackBlock& last = f.nacks.back();
            const auto distance = static_cast<std::uint16_t>(seq16 - last.pid);
            if (distance >= 1 && distance <= 16) {
                last.blp = static_cast<std::uint16_t>(last.blp | (1u << (distance - 1)));
                ++stats_.nacks;
                if (!sl.requested_at) sl.requested_at = now;
                continue;
            }
        }
        if (f.nacks.size() == k_feedback_block_budget) break;
        f.nacks.push_back(NackBlock{seq16, 0});
        ++stats_.nacks;
        if (!sl.requested_at) sl.requested_at = now;
    }
    return f;
}

std::vector<Delivery> Reassembler::take_deliveries() {
    std::vector<Delivery> out;
    out.swap(deliveries_);
    return out;
}

}  // namespace sg::mssr
