#include "rtp/receiver_stats.hpp"

#include <algorithm>
#include <limits>

namespace sg::rtp {

// The first packet of a source starts probation exactly as RFC 3550 A.1 prescribes for a new table entry:
// init_seq(s, seq); s->max_seq = seq - 1; s->probation = MIN_SEQUENTIAL; and then update_seq runs.
bool ReceiverStats::on_packet(std::uint16_t sequence, std::uint32_t rtp_timestamp,
                              std::uint32_t arrival) noexcept {
    if (!started_) {
        started_ = true;
        init_seq(sequence);
        max_seq_ = static_cast<std::uint16_t>(sequence - 1);
        probation_ = k_min_sequential;
    }
    const std::uint16_t previous_max = max_seq_;
    const bool was_valid = valid();
    if (!update_seq(sequence)) return false;
    if (was_valid) {
        note_arrival(sequence, previous_max);
    } else {
        history_test_and_set(sequence);  // init_seq just cleared the history
    }
    update_jitter(rtp_timestamp, arrival);
    return true;
}

void ReceiverStats::init_seq(std::uint16_t seq) noexcept {
    base_seq_ = seq;
    max_seq_ = seq;
    bad_seq_ = k_rtp_seq_mod + 1;  // so seq == bad_seq_ is false
    cycles_ = 0;
    received_ = 0;
    received_prior_ = 0;
    expected_prior_ = 0;
    // A restart (A.1 resync) usually restarts the RTP timestamps too: compare transit times afresh so
    // the jump does not show up as one huge jitter sample.
    transit_.reset();
    history_.fill(0);
    duplicates_ = 0;  // a subset of received_, so it restarts with it
}

// RFC 3550 A.1 update_seq(), line for line. One deliberate difference: during probation the RFC compares
// `seq == s->max_seq + 1` after integer promotion, so 65535 -> 0 restarts probation; we compare modulo
// 2^16, which treats that pair as sequential (the evident intent; it only shortens probation by a packet).
bool ReceiverStats::update_seq(std::uint16_t seq) noexcept {
    const auto udelta = static_cast<std::uint16_t>(seq - max_seq_);
    if (probation_ != 0) {
        if (seq == static_cast<std::uint16_t>(max_seq_ + 1)) {
            --probation_;
            max_seq_ = seq;
            if (probation_ == 0) {
                init_seq(seq);
                ++received_;
                return true;
            }
        } else {
            probation_ = k_min_sequential - 1;
            max_seq_ = seq;
        }
        return false;
    }
    if (udelta < k_max_dropout) {
        // In order, with a permissible gap.
        if (seq < max_seq_) cycles_ += k_rtp_seq_mod;  // wrapped: another 64K cycle
        max_seq_ = seq;
    } else if (udelta <= k_rtp_seq_mod - k_max_misorder) {
        // A very large jump: re-sync only when the next packet follows it (the peer restarted).
        if (seq == bad_seq_) {
            init_seq(seq);
        } else {
            bad_seq_ = (std::uint32_t{seq} + 1) & (k_rtp_seq_mod - 1);
            return false;
        }
    } else {
        // Duplicate or reordered packet: counted, as in the RFC.
    }
    ++received_;
    return true;
}

// A.8, integer form: jitter_q4_ holds J * 16 and J += (|D| - J) / 16 becomes
// jitter_q4_ += |D| - ((jitter_q4_ + 8) >> 4). Transit times are compared modulo 2^32, so timestamp
// and clock wrap-around do not matter.
void ReceiverStats::update_jitter(std::uint32_t rtp_timestamp, std::uint32_t arrival) noexcept {
    const std::uint32_t transit = arrival - rtp_timestamp;
    if (transit_) {
        const auto d = static_cast<std::int32_t>(transit - *transit_);
        const auto magnitude = static_cast<std::uint64_t>(d < 0 ? -std::int64_t{d} : std::int64_t{d});
        // (J + 8) >> 4 <= J for every J >= 0, so this never goes below zero.
        jitter_q4_ = jitter_q4_ + magnitude - ((jitter_q4_ + 8) >> 4);
    }
    transit_ = transit;
}

void ReceiverStats::note_arrival(std::uint16_t seq, std::uint16_t previous_max) noexcept {
    const auto advance = static_cast<std::uint16_t>(seq - previous_max);
    if (advance != 0 && advance < k_max_dropout) {
        // The window moved forward: the slots it now covers belong to not-yet-received numbers.
        if (advance >= k_history_bits) {
            history_.fill(0);
        } else {
            for (std::uint16_t k = 1; k < advance; ++k)
                history_clear(static_cast<std::uint16_t>(previous_max + k));
        }
        history_clear(seq);
    }
    if (history_test_and_set(seq)) ++duplicates_;
}

bool ReceiverStats::history_test_and_set(std::uint16_t seq) noexcept {
    const std::size_t bit = seq % k_history_bits;
    const std::uint64_t mask = std::uint64_t{1} << (bit % 64);
    const bool was_set = (history_[bit / 64] & mask) != 0;
    history_[bit / 64] |= mask;
    return was_set;
}

void ReceiverStats::history_clear(std::uint16_t seq) noexcept {
    const std::size_t bit = seq % k_history_bits;
    history_[bit / 64] &= ~(std::uint64_t{1} << (bit % 64));
}

void ReceiverStats::on_sender_report(std::uint64_t ntp_timestamp, Clock::time_point arrival) noexcept {
    last_sr_ntp_ = ntp_timestamp;
    last_sr_arrival_ = arrival;
}

std::int64_t ReceiverStats::expected() const noexcept {
    if (!valid()) return 0;
    return std::int64_t{cycles_} + max_seq_ - std::int64_t{base_seq_} + 1;
}

std::uint32_t ReceiverStats::jitter() const noexcept {
    return static_cast<std::uint32_t>(
        std::min<std::uint64_t>(jitter_q4_ >> 4, std::numeric_limits<std::uint32_t>::max()));
}

// RFC 3550 A.3.
ReportBlock ReceiverStats::make_report_block(Clock::time_point now) noexcept {
    ReportBlock block;
    block.ssrc = ssrc_;
    if (last_sr_ntp_) {
        block.last_sr = ntp_middle32(*last_sr_ntp_);
        block.delay_since_last_sr = to_dlsr(now - last_sr_arrival_);
    }
    if (!valid()) return block;

    const std::int64_t expected_now = expected();
    block.cumulative_lost = clamp_cumulative_lost(expected_now - std::int64_t{received_});
    block.highest_sequence = extended_max_sequence();
    block.jitter = jitter();

    const std::int64_t expected_interval = expected_now - expected_prior_;
    expected_prior_ = expected_now;
    const std::int64_t received_interval = std::int64_t{received_} - received_prior_;
    received_prior_ = received_;
    const std::int64_t lost_interval = expected_interval - received_interval;
    if (expected_interval > 0 && lost_interval > 0) {
        block.fraction_lost =
            static_cast<std::uint8_t>(std::min<std::int64_t>((lost_interval << 8) / expected_interval, 255));
    }
    return block;
}

std::uint32_t to_rtp_units(std::chrono::nanoseconds since_start, std::uint32_t clock_rate) noexcept {
    constexpr std::int64_t k_ns_per_s = 1'000'000'000;
    const std::int64_t ns = since_start.count();
    // Floor division keeps the result consistent (modulo 2^32) for negative times too.
    std::int64_t seconds = ns / k_ns_per_s;
    std::int64_t rest = ns % k_ns_per_s;
    if (rest < 0) {
        rest += k_ns_per_s;
        --seconds;
    }
    const std::uint64_t units = static_cast<std::uint64_t>(seconds) * clock_rate +
                                static_cast<std::uint64_t>(rest) * clock_rate / k_ns_per_s;
    return static_cast<std::uint32_t>(units);
}

}  // namespace sg::rtp
