#pragma once
// One direction of a TCP connection put back in order for a stream parser, within bounds: segments that
// arrive early are held (up to k_max_held_segments / k_max_held_bytes); retransmitted and overlapping
// bytes are dropped; when the cap is reached the missing bytes are given up on and the stream jumps to the
// earliest held segment, with gap() telling the parser that it must resynchronise.
//
// Pure code: no I/O. Sequence numbers compare modulo 2^32 (RFC 793 §3.3).

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "common/byte_io.hpp"
#include "common/units.hpp"

namespace sg::detect {

class TcpReassembly {
public:
    static constexpr std::size_t k_max_held_segments = 64;
    static constexpr std::size_t k_max_held_bytes = 256 * k_kib;
    static constexpr std::size_t k_max_buffer = 8 * k_mib;  // in-order bytes the parser has not taken

    // Feeds one segment (SYN flag and payload). Returns true when new in-order bytes were appended.
    bool on_segment(std::uint32_t seq, bool syn, Bytes payload);

    // In-order bytes not consumed yet; the parser consumes from the front.
    const std::string& data() const noexcept { return buffer_; }
    void consume(std::size_t n) { buffer_.erase(0, n); }
    void clear() { buffer_.clear(); }

    // True once since bytes were skipped (cleared by take_gap()).
    bool take_gap() noexcept {
        const bool g = gap_;
        gap_ = false;
        return g;
    }
    std::uint64_t skipped_bytes() const noexcept { return skipped_; }
    std::size_t held_bytes() const noexcept { return held_bytes_; }

private:
    void append(Bytes payload);
    void drain_held();

    bool started_ = false;
    std::uint32_t next_seq_ = 0;
    std::string buffer_;
    std::map<std::uint32_t, std::string> held_;  // early segments by sequence number
    std::size_t held_bytes_ = 0;
    bool gap_ = false;
    std::uint64_t skipped_ = 0;
};

}  // namespace sg::detect
