#pragma once
// Where a late joiner of a shared live stream can start decoding. An H.264 or H.265 decoder fed from the
// middle of a group of pictures reports missing references until the next IDR/IRAP picture, so a player's
// video track starts with the first packet that begins such a picture or carries a sequence parameter set
// (RFC 6184 §5.2: single NAL unit, STAP-A aggregation, FU-A fragment with the start bit; RFC 7798 §4.4:
// single NAL unit, AP aggregation, FU with the start bit). Other codecs start at once.

#include <cstdint>
#include <string_view>

#include "common/byte_io.hpp"

namespace sg::proxy {

// The video codecs whose key frames we can find; none for everything else (audio: every packet is a sync
// point).
enum class VideoCodec : std::uint8_t { none, h264, h265 };

// The codec of an rtpmap encoding name ("H264", "H265"; case-insensitive).
VideoCodec key_frame_codec(std::string_view encoding) noexcept;

// True when `encoding` (the rtpmap encoding name) is one whose players wait for a key frame.
bool waits_for_key_frame(std::string_view encoding) noexcept;

// What one RTP payload of a video stream carries, as far as a decoder's start is concerned.
struct PayloadSummary {
    bool key_start = false;      // begins an IDR (H.264) or IRAP (H.265, types 16-21) picture's slice
    bool parameter_set = false;  // carries an SPS (H.264) or a VPS/SPS (H.265)
    // Nothing but non-VCL units (parameter sets, SEI, access unit delimiters): such a packet may open the
    // access unit of a key frame that follows it with the same timestamp.
    bool non_vcl_only = false;
    // Carries a VCL unit, or a fragment of one, of a picture no other picture refers to (H.264: nal_ref_idc
    // 0; H.265: a sub-layer non-reference type, 0-14 even): a loss there spoils that picture alone.
    bool non_reference = false;
};

// Every length is checked against the payload; a malformed payload is summarised as nothing at all.
PayloadSummary summarize_payload(VideoCodec codec, Bytes payload) noexcept;

// True when the RTP payload starts a point a decoder can start at: a key frame or a sequence parameter set.
bool starts_key_frame(VideoCodec codec, Bytes payload) noexcept;

// True when the RTP payload of an H.264 stream starts a key frame (IDR slice or SPS).
bool h264_starts_key_frame(Bytes payload) noexcept;

}  // namespace sg::proxy
