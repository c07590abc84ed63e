#pragma once
// A minimal H.264 RTP packet for the proxy's mount tests, and a fed mount's one-track H.264 description: a
// 12-byte header (SSRC 0x11223344) and a 4-byte payload whose first byte is the NAL header (0x65 an IDR
// slice, 0x41 a P slice, 0x67 an SPS), enough for the GOP cache to tell key frames from the rest.
#include <cstdint>
#include <string>
#include <vector>

#include "proxy/mount.hpp"

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

// The RTP sequence number of a packet received as a string (an interleaved frame's payload).
inline std::uint16_t seq_of(const std::string& packet) {
    return static_cast<std::uint16_t>((static_cast<std::uint8_t>(packet[2]) << 8) |
                                      static_cast<std::uint8_t>(packet[3]));
}

// One IDR slice with the marker set: a complete key frame.
inline std::vector<std::uint8_t> h264_idr_packet() {
    return h264_rtp_packet(7, 0x1000, 0x65, true);
}

// What a fed mount of one H.264 track publishes (Mount::feed_start): its SDP and clock rate.
inline MountDescription h264_mount_description() {
    MountDescription d;
    d.upstream_sdp =
        "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=clip\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\na=control:*\r\n"
        "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:trackID=0\r\n";
    d.clock_rates = {90000};
    d.wait_key_frame = {false};
    return d;
}

}  // namespace sg::proxy::testing
