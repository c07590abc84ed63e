#pragma once
// Statistics of one RTP stream as `tshark -z rtp,streams` reports them, so both tables compare line by
// line: every packet counts (no RFC 3550 probation), expected = extended highest - first sequence + 1
// (RFC 3550 A.1 extended sequence numbers, so 16-bit wraps are followed), lost = expected - packets
// (negative with duplicates), interarrival jitter per RFC 3550 A.8 in milliseconds (the payload's clock
// rate converts timestamps), and the largest gap between two packets.
// On top of tshark: duplicates and reordered packets told apart, bytes and bitrate.

#include <array>
#include <cstdint>

namespace sg::detect {

class StreamStats {
public:
    // `time_ns` is the capture time; `size` the RTP packet size in octets (header and payload);
    // `clock_rate` 0 when unknown (then jitter stays 0).
    void on_packet(std::uint16_t sequence, std::uint32_t timestamp, std::int64_t time_ns, std::uint32_t size,
                   std::uint32_t clock_rate) noexcept;

    std::uint64_t packets() const noexcept { return packets_; }
    std::uint64_t bytes() const noexcept { return bytes_; }
    std::int64_t first_time_ns() const noexcept { return first_ns_; }
    std::int64_t last_time_ns() const noexcept { return last_ns_; }
    std::uint64_t first_sequence() const noexcept { return base_; }
    std::uint64_t extended_max_sequence() const noexcept { return max_ext_; }
    std::uint32_t wraps() const noexcept {
        return static_cast<std::uint32_t>((max_ext_ >> 16) - (base_ >> 16));
    }
    std::int64_t expected() const noexcept {
        return packets_ == 0 ? 0 : static_cast<std::int64_t>(max_ext_ - base_ + 1);
    }
    std::int64_t lost() const noexcept { return expected() - static_cast<std::int64_t>(packets_); }
    std::uint64_t duplicates() const noexcept { return duplicates_; }
    std::uint64_t reordered() const noexcept { return reordered_; }
    // Packets whose sequence number was not the previous one plus one (tshark's "wrong sequence").
    std::uint64_t sequence_errors() const noexcept { return sequence_errors_; }
    double max_delta_ms() const noexcept { return max_delta_ms_; }
    double max_jitter_ms() const noexcept { return max_jitter_ms_; }
    double mean_jitter_ms() const noexcept {
        return jitter_samples_ == 0 ? 0.0 : jitter_sum_ms_ / static_cast<double>(jitter_samples_);
    }
    double jitter_ms() const noexcept { return jitter_ms_; }
    double bitrate_bps() const noexcept;

private:
    static constexpr std::size_t k_history_bits = 1024;  // duplicate detection window behind the maximum

    bool history_test_and_set(std::uint64_t ext) noexcept;

    std::uint64_t packets_ = 0;
    std::uint64_t bytes_ = 0;
    std::int64_t first_ns_ = 0;
    std::int64_t last_ns_ = 0;
    std::uint64_t base_ = 0;     // extended sequence of the first packet (one cycle up: older ones stay >= 0)
    std::uint64_t max_ext_ = 0;  // extended highest sequence
    std::uint16_t previous_seq_ = 0;
    std::uint64_t duplicates_ = 0;
    std::uint64_t reordered_ = 0;
    std::uint64_t sequence_errors_ = 0;
    double max_delta_ms_ = 0;
    bool have_transit_ = false;
    double transit_ms_ = 0;
    double jitter_ms_ = 0;
    double max_jitter_ms_ = 0;
    double jitter_sum_ms_ = 0;
    std::uint64_t jitter_samples_ = 0;
    std::array<std::uint64_t, k_history_bits / 64> history_{};
    std::uint64_t history_top_ = 0;  // highest extended sequence the history ring covers
};

}  // namespace sg::detect
