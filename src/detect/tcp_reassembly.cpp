#include "detect/tcp_reassembly.hpp"

#include <iterator>

namespace sg::detect {
namespace {

// Signed distance from a to b modulo 2^32.
std::int32_t seq_diff(std::uint32_t b, std::uint32_t a) noexcept {
    return static_cast<std::int32_t>(b - a);
}

}  // namespace

void TcpReassembly::append(Bytes payload) {
    if (buffer_.size() + payload.size() > k_max_buffer) {
        // The parser is not taking bytes (an endless message): drop what it holds and resynchronise.
        skipped_ += buffer_.size();
        buffer_.clear();
        gap_ = true;
    }
    buffer_.append(reinterpret_cast<const char*>(payload.data()), payload.size());
    next_seq_ += static_cast<std::uint32_t>(payload.size());
}

void TcpReassembly::drain_held() {
    while (!held_.empty()) {
        // held_ is keyed by seq; find the segment that starts at or before next_seq_ (modulo 2^32).
        auto it = held_.end();
        for (auto i = held_.begin(); i != held_.end(); ++i) {
            if (seq_diff(i->first, next_seq_) <= 0) {
                it = i;
                break;
            }
        }
        if (it == held_.end()) return;
        const std::uint32_t seq = it->first;
        std::string segment = std::move(it->second);
        held_.erase(it);
        held_bytes_ -= segment.size();
        const auto overlap = static_cast<std::size_t>(-seq_diff(seq, next_seq_));
        if (overlap < segment.size()) {
            const auto* bytes = reinterpret_cast<const std::uint8_t*>(segment.data());
            append(Bytes(bytes + overlap, segment.size() - overlap));
        }
    }
}

bool TcpReassembly::on_segment(std::uint32_t seq, bool syn, Bytes payload) {
    if (syn) {
        // The SYN occupies one sequence number; data (rare, TFO) follows it.
        seq += 1;
        if (!started_) {
            started_ = true;
            next_seq_ = seq;
        }
    }
    if (payload.empty()) return false;
    if (!started_) {  // capture began mid-connection: start at the first data seen
        started_ = true;
        next_seq_ = seq;
    }
    const std::size_t before = buffer_.size();
    const std::int32_t ahead = seq_diff(seq, next_seq_);
    if (ahead <= 0) {
        const auto overlap = static_cast<std::size_t>(-static_cast<std::int64_t>(ahead));
        if (overlap >= payload.size()) return false;  // a pure retransmission
        append(payload.subspan(overlap));
        drain_held();
        return buffer_.size() != before || gap_;
    }
    // Early segment: hold it, unless it would exceed the caps; then give up on the hole.
    if (held_.count(seq) == 0 && payload.size() <= k_max_held_bytes) {
        held_.emplace(seq, std::string(reinterpret_cast<const char*>(payload.data()), payload.size()));
        held_bytes_ += payload.size();
    }
    if (held_.size() > k_max_held_segments || held_bytes_ > k_max_held_bytes) {
        // Jump to the held segment nearest ahead of next_seq_.
        auto nearest = held_.begin();
        for (auto i = held_.begin(); i != held_.end(); ++i)
            if (seq_diff(i->first, next_seq_) < seq_diff(nearest->first, next_seq_)) nearest = i;
        skipped_ += static_cast<std::uint32_t>(seq_diff(nearest->first, next_seq_));
        next_seq_ = nearest->first;
        buffer_.clear();  // a parser mid-message cannot use the bytes after the hole
        gap_ = true;
        drain_held();
        return true;
    }
    return false;
}

}  // namespace sg::detect
