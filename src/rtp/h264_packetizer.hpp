#pragma once
// H.264 RTP packetization (RFC 6184, packetization-mode=1 / non-interleaved): a NAL unit that fits the
// payload limit is sent alone (§5.6), one that does not is cut into FU-A fragments (§5.8), and the
// parameter sets go together in one STAP-A (§5.7.1) before every IDR picture, so a receiver that missed the
// SDP or joined late can still decode.
//
// Input is one access unit as a demuxer gives it: either length-prefixed NAL units (MP4/MKV "AVCC", with
// the prefix size from the avcC record) or an Annex B byte stream (MPEG-TS, raw .h264). Pure code: no I/O.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/byte_io.hpp"
#include "common/result.hpp"
#include "rtp/payload_list.hpp"

namespace sg::rtp {

inline constexpr std::size_t k_default_max_payload = 1400;

struct H264Config {
    // 1..4: the NAL length prefix size of AVCC input; 0: Annex B input (start codes).
    std::size_t length_size = 0;
    std::vector<std::vector<std::uint8_t>> sps;
    std::vector<std::vector<std::uint8_t>> pps;
};

// Reads codec extradata: an avcC record (ISO/IEC 14496-15 §5.2.4.1) or Annex B parameter sets.
// Empty extradata gives an Annex B config without parameter sets (they will then be found in-band).
Result<H264Config> parse_h264_extradata(Bytes extradata);

// Splits an access unit into NAL units (without prefixes or start codes). Fails on a length prefix that
// runs past the end; empty NAL units are skipped. Views point into `access_unit`.
bool split_nal_units(Bytes access_unit, std::size_t length_size, std::vector<Bytes>& out);

// NAL unit types 0 and 24-31 are unspecified in H.264 and RFC 6184 gives 24-29 its own meaning (STAP, MTAP,
// FU): a NAL unit of those types from a file would be misread by the receiver, so it is not sent.
bool is_sendable_nal_type(std::uint8_t nal_header) noexcept;

// profile-level-id for the SDP fmtp: the three octets after the NAL header of the first SPS, in hex
// ("42c01e"); "" when there is no SPS.
std::string h264_profile_level_id(const H264Config& config);

class H264Packetizer {
public:
    explicit H264Packetizer(H264Config config, std::size_t max_payload = k_default_max_payload);

    // Packetizes one access unit into `out` (cleared first); the last payload carries the marker. NAL units
    // that are not is_sendable_nal_type() are skipped.
    // Fails, producing nothing, on malformed input.
    Result<std::size_t> packetize(Bytes access_unit, PayloadList& out);

    const H264Config& config() const noexcept { return config_; }

private:
    void emit_nal(Bytes nal, PayloadList& out);
    void emit_parameter_sets(PayloadList& out);

    H264Config config_;
    std::size_t max_payload_;
    std::vector<Bytes> nals_;  // reused between calls
};

}  // namespace sg::rtp
