#pragma once
// What one simulated player measured. Times are milliseconds; absent when the player never got there.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace sg::loadtest {

struct PlayerResult {
    bool ok = false;
    std::string error;  // short stable reason when !ok ("connect refused", "DESCRIBE 404", ...)
    std::optional<double> describe_ms;   // DESCRIBE sent -> reply
    std::optional<double> setup_ms;      // first SETUP sent -> last SETUP reply
    std::optional<double> play_ms;       // PLAY sent -> reply
    std::optional<double> first_rtp_ms;  // PLAY sent -> first valid RTP packet
    // PLAY sent -> the last packet (marker bit) of the first key frame on an H.264/H.265 track: the first
    // frame a decoder can show. Absent without such a track.
    std::optional<double> first_key_frame_ms;
    // The first RTP packet of every H.264/H.265 track started a key frame (or its parameter sets): a
    // decoder had nothing to throw away. Absent without such a track.
    std::optional<bool> first_packet_key;
    std::size_t tracks = 0;
    std::uint64_t rtp_packets = 0;  // valid RTP packets received, every track
    std::uint64_t rtp_bytes = 0;    // their size (RTP header and payload)
    std::uint64_t rtp_invalid =
        0;                      // not RTP version 2, or a payload type / SSRC the session did not announce
    std::int64_t rtp_lost = 0;  // RFC 3550 A.3 cumulative lost, summed over tracks (never negative)
    std::uint64_t rtp_duplicates = 0;
    std::uint64_t rtcp_packets = 0;   // RTCP compound packets received
    std::optional<double> jitter_ms;  // RFC 3550 A.8 interarrival jitter, the worst track
};

}  // namespace sg::loadtest
