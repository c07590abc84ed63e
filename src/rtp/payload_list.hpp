#pragma once
// What a packetizer produces: the RTP payloads of one media frame, packed into one reusable buffer, each with
// its marker bit and its timestamp offset from the frame's timestamp (non-zero only when one frame of
// audio is split across packets). The RTP header is added by the sender (append_rtp), which owns the
// sequence numbers, the SSRC and the frame's base timestamp.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/byte_io.hpp"

namespace sg::rtp {

struct PayloadChunk {
    std::size_t offset = 0;
    std::size_t size = 0;
    bool marker = false;
    std::uint32_t timestamp_offset = 0;
};

class PayloadList {
public:
    void clear() noexcept {
        data_.clear();
        chunks_.clear();
    }
    // Starts a payload; append() its bytes, then finish() it.
    void begin() { start_ = data_.size(); }
    void append(Bytes bytes) { data_.insert(data_.end(), bytes.begin(), bytes.end()); }
    void append_u8(std::uint8_t v) { data_.push_back(v); }
    void append_u16(std::uint16_t v) {
        data_.push_back(static_cast<std::uint8_t>(v >> 8));
        data_.push_back(static_cast<std::uint8_t>(v));
    }
    void finish(bool marker, std::uint32_t timestamp_offset = 0) {
        chunks_.push_back(PayloadChunk{start_, data_.size() - start_, marker, timestamp_offset});
    }
    // Drops the payload being built since begin() (on malformed input).
    void abandon() { data_.resize(start_); }

    std::size_t size() const noexcept { return chunks_.size(); }
    bool empty() const noexcept { return chunks_.empty(); }
    const PayloadChunk& chunk(std::size_t i) const noexcept { return chunks_[i]; }
    Bytes payload(std::size_t i) const noexcept {
        return Bytes(data_).subspan(chunks_[i].offset, chunks_[i].size);
    }
    // Marks the last payload as the end of an access unit (video: the last packet of a frame).
    void set_last_marker(bool marker) noexcept {
        if (!chunks_.empty()) chunks_.back().marker = marker;
    }

private:
    std::vector<std::uint8_t> data_;
    std::vector<PayloadChunk> chunks_;
    std::size_t start_ = 0;
};

}  // namespace sg::rtp
