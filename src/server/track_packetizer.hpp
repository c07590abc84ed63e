#pragma once
// The packetizer and SDP media section of one track, chosen by its codec.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "common/byte_io.hpp"
#include "common/result.hpp"
#include "rtp/aac_packetizer.hpp"
#include "rtp/h264_packetizer.hpp"
#include "rtp/h265_packetizer.hpp"
#include "rtp/mp2t_packetizer.hpp"
#include "rtp/payload_list.hpp"
#include "server/media_file.hpp"

namespace sg::server {

class TrackPacketizer {
public:
    // `track_index` picks the dynamic payload type (96 + index) and the control name ("trackID=<index>").
    static Result<TrackPacketizer> create(const TrackInfo& track, std::size_t track_index,
                                          std::size_t max_payload);

    Result<std::size_t> packetize(Bytes frame, rtp::PayloadList& out);

    std::uint8_t payload_type() const noexcept { return payload_type_; }
    std::uint32_t clock_rate() const noexcept { return track_.clock_rate; }
    // "m=..." through "a=control:trackID=N", CRLF line endings.
    std::string sdp_media() const;

private:
    TrackPacketizer() = default;

    TrackInfo track_;
    std::size_t index_ = 0;
    std::size_t max_payload_ = rtp::k_default_max_payload;
    std::uint8_t payload_type_ = 96;
    std::optional<rtp::H264Packetizer> h264_;
    std::optional<rtp::H265Packetizer> h265_;
    std::optional<rtp::AacPacketizer> aac_;
    std::optional<rtp::Mp2tPacketizer> mp2t_;
    std::string fmtp_;
};

// The control name of track `index` in the SDP and in SETUP URLs.
std::string track_control(std::size_t index);

}  // namespace sg::server
