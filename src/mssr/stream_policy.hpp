#pragma once
// Per-stream rules shared by sender and receiver: the latency budget (an ADU's deadline is its time plus
// this) and which lost fragments are worth a retransmission.

#include <chrono>
#include <cstdint>

#include "mssr/wire.hpp"

namespace sg::mssr {

enum class RetransmitMode : std::uint8_t {
    by_value,  // anything that can still arrive in time; key frames first, then reference, then the rest
    key_only,  // the seed's rule: only I-frame (key) fragments are retransmitted
    none,      // send once (the seed's "retransmission time 0")
};

// What the receiver does with an ADU still incomplete at its deadline.
enum class LatePolicy : std::uint8_t {
    drop,     // report it lost, deliver nothing
    partial,  // deliver what arrived (missing ranges zero-filled) flagged partial, for decoders that conceal
};

struct StreamPolicy {
    std::chrono::milliseconds latency{120};
    RetransmitMode mode = RetransmitMode::by_value;
    LatePolicy late = LatePolicy::drop;
    friend bool operator==(const StreamPolicy&, const StreamPolicy&) = default;
};

constexpr bool worth_retransmitting(RetransmitMode mode, Priority priority) noexcept {
    switch (mode) {
        case RetransmitMode::by_value:
            return true;
        case RetransmitMode::key_only:
            return priority == Priority::key;
        case RetransmitMode::none:
            return false;
    }
    return false;
}

}  // namespace sg::mssr
