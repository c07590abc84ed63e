#pragma once
// Where a late joiner of a shared live stream can start decoding. An H.264 decoder fed from the middle of a
// group of pictures reports missing references until the next IDR picture, so a player's video track starts
// with the first packet that begins an IDR picture or carries a sequence parameter set (RFC 6184 §5.2:
// single NAL unit, STAP-A aggregation, FU-A fragment with the start bit). Other codecs start at once.

#include <string_view>

#include "common/byte_io.hpp"

namespace sg::proxy {

// True when `encoding` (the rtpmap encoding name) is one whose players wait for a key frame.
bool waits_for_key_frame(std::string_view encoding) noexcept;

// True when the RTP payload of an H.264 stream starts a key frame (IDR slice or SPS).
bool h264_starts_key_frame(Bytes payload) noexcept;

}  // namespace sg::proxy
