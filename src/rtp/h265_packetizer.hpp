#pragma once
// H.265 RTP packetization (RFC 7798, sprop-max-don-diff=0, so no DONL fields): a NAL unit that fits the
// payload limit is sent alone (§4.4.1), one that does not is cut into fragmentation units (FU, type 49,
// §4.4.3), and the parameter sets (VPS, SPS, PPS) go together in one aggregation packet (AP, type 48,
// §4.4.2) before every IRAP picture, so a receiver that missed the SDP or joined late can still decode.
//
// Input is one access unit as a demuxer gives it: either length-prefixed NAL units (MP4/MKV, with the prefix
// size from the hvcC record) or an Annex B byte stream (MPEG-TS, raw .h265). Pure code: no I/O.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/byte_io.hpp"
#include "common/result.hpp"
#include "rtp/h264_packetizer.hpp"
#include "rtp/payload_list.hpp"

namespace sg::rtp {

struct H265Config {
    // 1, 2 or 4: the NAL length prefix size of hvcC input; 0: Annex B input (start codes).
    std::size_t length_size = 0;
    std::vector<std::vector<std::uint8_t>> vps;
    std::vector<std::vector<std::uint8_t>> sps;
    std::vector<std::vector<std::uint8_t>> pps;
};

// Reads codec extradata: an hvcC record (ISO/IEC 14496-15 §8.3.3.1) or Annex B parameter sets.
// Empty extradata gives an Annex B config without parameter sets (they will then be found in-band).
Result<H265Config> parse_h265_extradata(Bytes extradata);

// The NAL unit type of an H.265 NAL unit (its header is two octets); only meaningful when nal.size() >= 2.
std::uint8_t h265_nal_type(Bytes nal) noexcept;

// A NAL unit shorter than its two-octet header is malformed, and types 48-63 are unspecified in H.265 while
// RFC 7798 gives 48-50 its own meaning (AP, FU, PACI): such a NAL unit would be misread, so it is not sent.
bool is_sendable_h265_nal(Bytes nal) noexcept;

class H265Packetizer {
public:
    explicit H265Packetizer(H265Config config, std::size_t max_payload = k_default_max_payload);

    // Packetizes one access unit into `out` (cleared first); the last payload carries the marker. NAL units
    // that are not is_sendable_h265_nal() are skipped.
    // Fails, producing nothing, on malformed input.
    Result<std::size_t> packetize(Bytes access_unit, PayloadList& out);

    const H265Config& config() const noexcept { return config_; }

private:
    void emit_nal(Bytes nal, PayloadList& out);
    void emit_parameter_sets(PayloadList& out);

    H265Config config_;
    std::size_t max_payload_;
    std::vector<Bytes> nals_;  // reused between calls
};

}  // namespace sg::rtp
