#pragma once
// Per-source RTP receiver statistics, as RFC 3550 specifies them for reception reports:
//   Appendix A.1  sequence number validation (probation, dropout/misorder limits, resync, 16-bit cycles),
//   Appendix A.3  expected / cumulative lost / fraction lost per reporting interval,
//   Appendix A.8  interarrival jitter,
// plus the LSR/DLSR bookkeeping of §6.4.1 and a report-block factory for RR/SR packets.
//
// Pure arithmetic: the caller supplies arrival times (no clock is read). Duplicate counting is an extra
// that never feeds into the RFC numbers.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "rtp/rtcp.hpp"

namespace sg::rtp {

inline constexpr std::uint32_t k_max_dropout = 3000;
inline constexpr std::uint32_t k_max_misorder = 100;
inline constexpr std::uint32_t k_min_sequential = 2;
inline constexpr std::uint32_t k_rtp_seq_mod = 1u << 16;

class ReceiverStats {
public:
    using Clock = std::chrono::steady_clock;

    explicit ReceiverStats(std::uint32_t ssrc = 0) noexcept : ssrc_(ssrc) {}

    // One RTP packet from this source. `arrival` is the arrival time in the same units as the RTP
    // timestamp (the payload's clock rate; see to_rtp_units). Returns update_seq()'s verdict: true when
    // the packet counts as received, false while on probation or when it is an unexplained jump.
    // Jitter is updated for every counted packet in arrival order (§6.4.1), duplicates included.
    bool on_packet(std::uint16_t sequence, std::uint32_t rtp_timestamp, std::uint32_t arrival) noexcept;

    // An SR from this source arrived: remembered for LSR/DLSR in the next report block.
    void on_sender_report(std::uint64_t ntp_timestamp, Clock::time_point arrival) noexcept;

    // A.3: fills an RR block and starts a new interval for the fraction lost. While the source is still on
    // probation only ssrc and LSR/DLSR are filled (the RFC reports only valid sources).
    ReportBlock make_report_block(Clock::time_point now) noexcept;

    std::uint32_t ssrc() const noexcept { return ssrc_; }
    bool valid() const noexcept { return started_ && probation_ == 0; }  // out of probation
    std::uint32_t received() const noexcept { return received_; }        // duplicates included, as in A.1
    std::uint32_t extended_max_sequence() const noexcept { return cycles_ + max_seq_; }
    std::uint32_t base_sequence() const noexcept { return base_seq_; }
    std::uint32_t cycles() const noexcept { return cycles_ >> 16; }  // count of 64K wraps
    std::int64_t expected() const noexcept;
    // expected - received, unclamped (negative with duplicates); the report block clamps to 24 bits.
    std::int64_t cumulative_lost() const noexcept { return expected() - std::int64_t{received_}; }
    std::uint32_t jitter() const noexcept;  // in timestamp units
    // Packets whose sequence number was already received (within the misorder window), since the last
    // (re)sync; included in received() as A.1 counts them.
    std::uint64_t duplicates() const noexcept { return duplicates_; }

private:
    // Duplicate detection window: reordered packets are only accepted up to k_max_misorder behind.
    static constexpr std::size_t k_history_bits = 128;

    void init_seq(std::uint16_t seq) noexcept;
    bool update_seq(std::uint16_t seq) noexcept;
    void update_jitter(std::uint32_t rtp_timestamp, std::uint32_t arrival) noexcept;
    void note_arrival(std::uint16_t seq, std::uint16_t previous_max) noexcept;
    bool history_test_and_set(std::uint16_t seq) noexcept;
    void history_clear(std::uint16_t seq) noexcept;

    std::uint32_t ssrc_;
    bool started_ = false;

    // Appendix A.1 state, same names and meaning as the RFC's `source` struct.
    std::uint16_t max_seq_ = 0;
    std::uint32_t cycles_ = 0;  // shifted count of sequence number cycles
    std::uint32_t base_seq_ = 0;
    std::uint32_t bad_seq_ = 0;
    std::uint32_t probation_ = 0;
    std::uint32_t received_ = 0;
    std::int64_t expected_prior_ = 0;  // u_int32 in the RFC; signed here to keep A.3's arithmetic simple
    std::uint32_t received_prior_ = 0;

    // A.8: transit of the previous packet, and jitter scaled by 16 (the RFC's integer form).
    std::optional<std::uint32_t> transit_;
    std::uint64_t jitter_q4_ = 0;

    std::optional<std::uint64_t> last_sr_ntp_;
    Clock::time_point last_sr_arrival_{};

    std::uint64_t duplicates_ = 0;
    std::array<std::uint64_t, k_history_bits / 64> history_{};
};

// Converts an arrival time to RTP timestamp units for the jitter computation (wraps modulo 2^32).
std::uint32_t to_rtp_units(std::chrono::nanoseconds since_start, std::uint32_t clock_rate) noexcept;

// Clamps a loss count to the 24-bit signed cumulative-lost field.
constexpr std::int32_t clamp_cumulative_lost(std::int64_t lost) noexcept {
    return lost > k_max_cumulative_lost   ? k_max_cumulative_lost
           : lost < k_min_cumulative_lost ? k_min_cumulative_lost
                                          : static_cast<std::int32_t>(lost);
}

}  // namespace sg::rtp
