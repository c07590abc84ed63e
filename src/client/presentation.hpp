#pragma once
// What a DESCRIBE answer tells a player: the tracks to SETUP (absolute control URLs resolved against the
// base URL of RFC 2326 C.1.1), their RTP payload types and clock rates, the aggregate control URL for PLAY
// and TEARDOWN, and the presentation length from a=range. Pure code on top of the SDP parser.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "rtsp/message.hpp"

namespace sg::client {

inline constexpr std::size_t k_max_tracks =
    16;  // more m= lines than any real stream; bounds per-player state

struct Track {
    std::string control_url;  // absolute
    std::string media;        // "video", "audio", ...
    std::vector<std::uint8_t> payload_types;
    std::uint32_t clock_rate = 90000;  // of the first payload type; 90000 when the SDP does not say
    std::string encoding;              // its rtpmap encoding name ("H264"); "" when the SDP does not say
};

struct Presentation {
    std::string aggregate_url;  // PLAY / TEARDOWN target
    std::vector<Track> tracks;
    // a=range npt end minus start (session level, else the first track's); absent for live streams.
    std::optional<double> duration_s;
};

// RFC 2326 C.1.1: Content-Base, else Content-Location, else the Request-URI.
std::string base_url(const rtsp::Response& describe_reply, std::string_view request_url);

// Tracks are the m= sections with an RTP profile ("RTP/AVP", "RTP/AVPF", "RTP/SAVP"...). Fails when the SDP
// does not parse, has no RTP track, more than k_max_tracks, or a control URL that does not resolve.
Result<Presentation> parse_presentation(std::string_view sdp_text, std::string_view base);

}  // namespace sg::client
