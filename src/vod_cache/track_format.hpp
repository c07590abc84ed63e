#pragma once
// What the VOD cache needs to store a mount's tracks in a file (recording.hpp): each RTP track's codec, clock
// and the codec configuration a container carries (H.264/H.265 parameter sets from sprop-*, AAC's
// AudioSpecificConfig from `config`, an OpusHead made from the channel count), read from the upstream's SDP.
// A presentation with a track we cannot store is not cached (the reason says which). Pure: no I/O.

#include <cstdint>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "rtp/depacketizer.hpp"

namespace sg::vod {

struct TrackFormat {
    rtp::DepacketizedCodec codec = rtp::DepacketizedCodec::h264;
    std::uint32_t clock_rate = 90000;
    int channels = 0;                     // audio
    std::vector<std::uint8_t> extradata;  // Annex B parameter sets, AudioSpecificConfig or OpusHead
    unsigned size_length = 13;            // AAC AU headers (RFC 3640)
    unsigned index_length = 3;
};

// One TrackFormat per m= section, in order. MP2T only as the single track (it is stored as a .ts file).
Result<std::vector<TrackFormat>> track_formats(std::string_view sdp);

}  // namespace sg::vod
