#include "relay/prompt.hpp"

#include <algorithm>

#include "rtp/rtp_packet.hpp"

namespace sg::relay {

PromptPlayer::PromptPlayer(Prompt prompt, unsigned repeat, std::uint32_t ssrc, std::uint16_t sequence,
                           std::uint32_t timestamp)
    : prompt_(std::move(prompt)), repeat_(repeat), ssrc_(ssrc), sequence_(sequence), timestamp_(timestamp) {}

std::optional<std::vector<std::uint8_t>> PromptPlayer::next() {
    if (prompt_.samples.empty()) return std::nullopt;
    if (offset_ >= prompt_.samples.size()) {
        ++played_;
        if (repeat_ != 0 && played_ >= repeat_) return std::nullopt;
        offset_ = 0;
    }
    const std::size_t count = std::min(k_samples_per_packet, prompt_.samples.size() - offset_);
    rtp::RtpHeader header;
    header.marker = packets_ == 0;  // the start of a talkspurt (RFC 3551 §4.1)
    header.payload_type = prompt_.payload_type;
    header.sequence = sequence_++;
    header.timestamp = timestamp_;
    header.ssrc = ssrc_;
    timestamp_ += static_cast<std::uint32_t>(count);
    std::vector<std::uint8_t> packet;
    packet.reserve(12 + count);
    if (!rtp::append_rtp(packet, header, Bytes(prompt_.samples.data() + offset_, count))) return std::nullopt;
    offset_ += count;
    ++packets_;
    return packet;
}

}  // namespace sg::relay
