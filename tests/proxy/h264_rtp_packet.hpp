#pragma once
// A minimal H.264 RTP packet for the proxy's mount tests: a 12-byte header (SSRC 0x11223344) and a 4-byte
// payload whose first byte is the NAL header (0x65 an IDR slice, 0x41 a P slice, 0x67 an SPS), enough for the
// GOP cache to tell key frames from the rest.
#include <cstdint>
#include <vector>

namespace sg::proxy::testing {

inline std::vector<std::uint8_t> h264_rtp_packet(std::uint16_t seq, std::uint32_t timestamp, std::uint8_t nal,
                                                 bool marker) {
    return {0x80,
            static_cast<std::uint8_t>(marker ? 0xe0 : 0x60),
            static_cast<std::uint8_t>(seq >> 8),
            static_cast<std::uint8_t>(seq),
            static_cast<std::uint8_t>(timestamp >> 24),
            static_cast<std::uint8_t>(timestamp >> 16),
            static_cast<std::uint8_t>(timestamp >> 8),
            static_cast<std::uint8_t>(timestamp),
            0x11,
            0x22,
            0x33,
            0x44,
            nal,
            0x88,
            0x84,
            0x00};
}

// One IDR slice with the marker set: a complete key frame.
inline std::vector<std::uint8_t> h264_idr_packet() {
    return h264_rtp_packet(7, 0x1000, 0x65, true);
}

}  // namespace sg::proxy::testing
