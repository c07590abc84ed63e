#pragma once
// Play media (ng "play media", rtpproxy P): a G.711 prompt cut into RTP packets of 20 ms (160 samples at
// 8 kHz, RFC 3551 §4.5.14), played `repeat` times (0: until stopped). Pure: the caller paces next() every
// 20 ms and sends what it returns.

#include <cstdint>
#include <optional>
#include <vector>

namespace sg::relay {

struct Prompt {
    std::uint8_t payload_type = 8;      // 0 PCMU, 8 PCMA
    std::vector<std::uint8_t> samples;  // one octet per sample, mono, 8 kHz
};

class PromptPlayer {
public:
    static constexpr std::size_t k_samples_per_packet = 160;

    // `ssrc` and the initial sequence number and timestamp should be random (RFC 3550 §5.1).
    PromptPlayer(Prompt prompt, unsigned repeat, std::uint32_t ssrc, std::uint16_t sequence,
                 std::uint32_t timestamp);

    // The next packet, or nullopt when every repetition has been played (or the prompt is empty).
    std::optional<std::vector<std::uint8_t>> next();

    std::uint64_t packets_sent() const noexcept { return packets_; }

private:
    Prompt prompt_;
    unsigned repeat_;
    unsigned played_ = 0;  // whole repetitions done
    std::size_t offset_ = 0;
    std::uint32_t ssrc_;
    std::uint16_t sequence_;
    std::uint32_t timestamp_;
    std::uint64_t packets_ = 0;
};

}  // namespace sg::relay
