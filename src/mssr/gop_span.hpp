#pragma once
// How many frames a broken ADU of a stream spoils, for the parity count by value (parity_plan.hpp): a
// disposable frame spoils itself; a reference frame every frame after it up to the next key frame, since
// they all refer back to it; a key frame its whole GOP. The GOP's length is learnt from the distance between
// the stream's key ADUs (the last one seen), and assumed until two have been seen. A stream without key ADUs
// (audio: every frame stands alone) spoils one frame per ADU. Pure: one call per ADU, in order.

#include <algorithm>
#include <cstddef>
#include <optional>

#include "mssr/wire.hpp"

namespace sg::mssr {

class GopSpan {
public:
    explicit GopSpan(std::size_t assumed_gop) noexcept : assumed_(std::max<std::size_t>(assumed_gop, 1)) {}

    // The next ADU of the stream: the frames its loss would spoil, itself included.
    std::size_t next(Priority priority) noexcept {
        if (priority == Priority::key) {
            if (seen_key_) gop_ = since_key_;
            seen_key_ = true;
            since_key_ = 0;
        }
        // A GOP longer than the last one (or than assumed) is at least as long as it has been so far.
        const std::size_t gop = std::max(gop_.value_or(assumed_), since_key_ + 1);
        std::size_t span = 1;
        if (priority == Priority::key) span = gop;
        if (priority == Priority::reference && seen_key_) span = gop - since_key_;
        ++since_key_;
        return span;
    }

    std::optional<std::size_t> gop() const noexcept { return gop_; }

private:
    std::size_t assumed_;
    std::size_t since_key_ = 0;  // ADUs since the newest key ADU, that one included
    std::optional<std::size_t> gop_;
    bool seen_key_ = false;
};

}  // namespace sg::mssr
