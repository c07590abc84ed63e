#pragma once
// Serial-number helpers for MSSR's 16-bit wire sequence numbers and millisecond times. Internally
// the state machines work on 64-bit "extended" values, so wrap-around is handled once, here, and nowhere
// else.

#include <chrono>
#include <cstdint>

namespace sg::mssr {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Millis = std::chrono::milliseconds;

// Fragment sequence numbers a receiver tracks past its cumulative ack (a power of two, well below 32768 so
// 16-bit numbers stay unambiguous). The sender never sends a fragment numbered a whole window past its oldest
// unfinished one, so a conforming receiver never has to drop one as out of window.
inline constexpr std::int64_t k_sequence_window = 16384;

// Extends a 16-bit sequence number (or ADU time in ms) to the 64-bit value closest to `reference` (an
// extended value), so values up to 32768 behind or 32767 ahead of it map correctly across a wrap.
constexpr std::int64_t extend_seq16(std::uint16_t wire, std::int64_t reference) noexcept {
    const auto ref16 = static_cast<std::uint16_t>(reference);
    const auto delta = static_cast<std::int16_t>(static_cast<std::uint16_t>(wire - ref16));
    return reference + delta;
}

constexpr std::int64_t to_millis(TimePoint t) noexcept {
    return std::chrono::duration_cast<Millis>(t.time_since_epoch()).count();
}

}  // namespace sg::mssr
