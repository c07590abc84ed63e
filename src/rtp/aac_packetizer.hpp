#pragma once
// AAC RTP packetization, RFC 3640 mpeg4-generic in AAC-hbr mode (sizelength=13, indexlength=3,
// indexdeltalength=3): one access unit per packet behind a 16-bit AU-headers-length and one 16-bit
// AU-header (§3.2.1, §3.3.6). An AU larger than the payload limit is fragmented (§3.2.3): every fragment
// repeats the header with the whole AU size, and only the last one carries the marker.
// Input frames may be raw (MP4, MKV) or ADTS (MPEG-TS, .aac): an ADTS header is stripped.
// Pure code: no I/O.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/byte_io.hpp"
#include "common/result.hpp"
#include "rtp/payload_list.hpp"

namespace sg::rtp {

inline constexpr std::size_t k_max_aac_au_size = 8191;  // what a 13-bit AU-size can carry

struct AdtsHeader {
    std::size_t header_size = 0;   // 7, or 9 with a CRC
    std::size_t frame_size = 0;    // header included
    std::uint8_t object_type = 0;  // profile + 1
    std::uint8_t sampling_index = 0;
    std::uint8_t channel_config = 0;
};

// Parses an ADTS header at the start of `frame`; nullopt when there is none (no sync word, truncated).
std::optional<AdtsHeader> parse_adts_header(Bytes frame) noexcept;

// The two-octet AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1) an ADTS header describes.
std::vector<std::uint8_t> audio_specific_config(const AdtsHeader& adts);

// "streamtype=5;profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3;config=..."
std::string aac_fmtp(Bytes audio_specific_config);

class AacPacketizer {
public:
    explicit AacPacketizer(std::size_t max_payload = 1400);

    // Packetizes one AAC frame into `out` (cleared first). Fails on an empty or oversized frame.
    Result<std::size_t> packetize(Bytes frame, PayloadList& out);

private:
    std::size_t max_payload_;
};

}  // namespace sg::rtp
