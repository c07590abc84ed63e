#pragma once
// The SDP file of `mssr recv --rtp HOST:PORT --sdp FILE`: the origin's description as players of a mount get
// it (mount_sdp: RTP tracks only, in track order) with HOST as the connection address and track i on port
// PORT + 2 i, so `ffplay -protocol_whitelist file,udp,rtp FILE` (or VLC, GStreamer's sdpdemux) receives the
// re-emitted RTP packets. Pure.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace sg::mssr {

// Fails when the SDP is unusable or a track's port would pass 65,535.
Result<std::string> rtp_out_sdp(std::string_view origin_sdp, std::string_view address, bool ipv6,
                                std::uint16_t first_port);

// The port of track `track` (PORT + 2 i); the caller has checked it with rtp_out_sdp.
constexpr std::uint16_t rtp_out_port(std::uint16_t first_port, std::size_t track) noexcept {
    return static_cast<std::uint16_t>(first_port + 2 * track);
}

}  // namespace sg::mssr
