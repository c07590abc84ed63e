#include "detect/stream_stats.hpp"

#include <algorithm>
#include <cmath>

namespace sg::detect {
namespace {

// The first packet's extended sequence starts one cycle up, so packets reordered before it still have a
// non-negative extended number for the duplicate window.
constexpr std::uint64_t k_cycle = 1u << 16;

}  // namespace

bool StreamStats::history_test_and_set(std::uint64_t ext) noexcept {
    // A ring of k_history_bits bits: bit (n mod k_history_bits) stands for extended sequence n, for n in
    // (history_top_ - k_history_bits, history_top_]. Moving the top forward clears the bits it uncovers.
    if (ext > history_top_) {
        const std::uint64_t advance = ext - history_top_;
        if (advance >= k_history_bits) {
            history_.fill(0);
        } else {
            for (std::uint64_t n = history_top_ + 1; n <= ext; ++n)
                history_[(n % k_history_bits) / 64] &= ~(std::uint64_t{1} << (n % 64));
        }
        history_top_ = ext;
    }
    if (history_top_ - ext >= k_history_bits) return false;  // too old to tell: counted as reordered
    std::uint64_t& word = history_[(ext % k_history_bits) / 64];
    const std::uint64_t bit = std::uint64_t{1} << (ext % 64);
    const bool seen = (word & bit) != 0;
    word |= bit;
    return seen;
}

void StreamStats::on_packet(std::uint16_t sequence, std::uint32_t timestamp, std::int64_t time_ns,
                            std::uint32_t size, std::uint32_t clock_rate) noexcept {
    if (packets_ == 0) {
        first_ns_ = time_ns;
        base_ = k_cycle + sequence;
        max_ext_ = base_;
        history_top_ = base_;
        history_test_and_set(base_);
    } else {
        if (sequence != static_cast<std::uint16_t>(previous_seq_ + 1)) ++sequence_errors_;
        const auto max16 = static_cast<std::uint16_t>(max_ext_);
        const auto forward = static_cast<std::uint16_t>(sequence - max16);
        std::uint64_t ext = 0;
        if (forward != 0 && forward < 0x8000) {
            ext = max_ext_ + forward;  // ahead of the maximum (possibly across a wrap)
            max_ext_ = ext;
        } else {
            ext = max_ext_ - static_cast<std::uint16_t>(max16 - sequence);  // at or behind the maximum
        }
        if (history_test_and_set(ext))
            ++duplicates_;
        else if (ext < max_ext_)
            ++reordered_;
        const double delta_ms = static_cast<double>(time_ns - last_ns_) / 1e6;
        max_delta_ms_ = std::max(max_delta_ms_, delta_ms);
    }
    previous_seq_ = sequence;
    last_ns_ = time_ns;
    ++packets_;
    bytes_ += size;

    if (clock_rate != 0) {
        // A.8 in floating point milliseconds, as tshark computes it: D = (Rj - Ri) - (Sj - Si).
        const double arrival_ms = static_cast<double>(time_ns - first_ns_) / 1e6;
        const double timestamp_ms = static_cast<double>(timestamp) * 1000.0 / clock_rate;
        const double transit = arrival_ms - timestamp_ms;
        if (have_transit_) {
            double d = std::fabs(transit - transit_ms_);
            // A timestamp wrap between the two packets shows as a 2^32-tick jump: take it modulo.
            const double wrap_ms = 4294967296.0 * 1000.0 / clock_rate;
            if (d > wrap_ms / 2) d = std::fabs(d - wrap_ms);
            jitter_ms_ += (d - jitter_ms_) / 16.0;
            max_jitter_ms_ = std::max(max_jitter_ms_, jitter_ms_);
        }
        transit_ms_ = transit;
        have_transit_ = true;
        jitter_sum_ms_ += jitter_ms_;
        ++jitter_samples_;
    }
}

double StreamStats::bitrate_bps() const noexcept {
    const double seconds = static_cast<double>(last_ns_ - first_ns_) / 1e9;
    if (seconds <= 0) return 0;
    return static_cast<double>(bytes_) * 8.0 / seconds;
}

}  // namespace sg::detect
