#include "server/track_packetizer.hpp"

#include <array>

#include "rtp/audio_packetizer.hpp"
#include "rtsp/auth.hpp"

namespace sg::server {
namespace {

constexpr std::uint8_t k_pt_pcmu = 0;
constexpr std::uint8_t k_pt_pcma = 8;
constexpr std::uint8_t k_first_dynamic_pt = 96;

// ISO/IEC 14496-3 Table 1.18, for an AAC track whose container carries no AudioSpecificConfig.
std::optional<std::uint8_t> sampling_index(int rate) {
    static constexpr std::array<int, 13> k_rates{96000, 88200, 64000, 48000, 44100, 32000, 24000,
                                                 22050, 16000, 12000, 11025, 8000,  7350};
    for (std::size_t i = 0; i < k_rates.size(); ++i) {
        if (k_rates[i] == rate) return static_cast<std::uint8_t>(i);
    }
    return std::nullopt;
}

std::string h264_fmtp(const rtp::H264Config& config) {
    std::string fmtp = "packetization-mode=1";
    if (const auto pli = rtp::h264_profile_level_id(config); !pli.empty()) fmtp += ";profile-level-id=" + pli;
    if (!config.sps.empty() && !config.pps.empty()) {
        fmtp += ";sprop-parameter-sets=";
        bool first = true;
        for (const auto* sets : {&config.sps, &config.pps}) {
            for (const auto& set : *sets) {
                if (!first) fmtp += ',';
                first = false;
                fmtp += rtsp::base64_encode(
                    std::string_view(reinterpret_cast<const char*>(set.data()), set.size()));  // NOLINT
            }
        }
    }
    return fmtp;
}

std::string base64_sets(const std::vector<std::vector<std::uint8_t>>& sets) {
    std::string text;
    for (const auto& set : sets) {
        if (!text.empty()) text += ',';
        text += rtsp::base64_encode(
            std::string_view(reinterpret_cast<const char*>(set.data()), set.size()));  // NOLINT
    }
    return text;
}

// RFC 7798 §7.1: the parameter sets out of band, so a receiver can set up its decoder before the first AP.
std::string h265_fmtp(const rtp::H265Config& config) {
    if (config.vps.empty() || config.sps.empty() || config.pps.empty()) return {};
    return "sprop-vps=" + base64_sets(config.vps) + ";sprop-sps=" + base64_sets(config.sps) +
           ";sprop-pps=" + base64_sets(config.pps);
}

}  // namespace

std::string track_control(std::size_t index) {
    return "trackID=" + std::to_string(index);
}

Result<TrackPacketizer> TrackPacketizer::create(const TrackInfo& track, std::size_t track_index,
                                                std::size_t max_payload) {
    TrackPacketizer p;
    p.track_ = track;
    p.index_ = track_index;
    p.max_payload_ = max_payload;
    p.payload_type_ = static_cast<std::uint8_t>(k_first_dynamic_pt + track_index);
    switch (track.codec) {
        case Codec::h264: {
            auto config = rtp::parse_h264_extradata(track.extradata);
            if (!config) return fail(config.error());
            p.fmtp_ = h264_fmtp(*config);
            p.h264_.emplace(std::move(*config), max_payload);
            break;
        }
        case Codec::h265: {
            auto config = rtp::parse_h265_extradata(track.extradata);
            if (!config) return fail(config.error());
            p.fmtp_ = h265_fmtp(*config);
            p.h265_.emplace(std::move(*config), max_payload);
            break;
        }
        case Codec::aac: {
            std::vector<std::uint8_t> asc = track.extradata;
            if (asc.empty()) {
                const auto index = sampling_index(track.sample_rate);
                if (!index || track.channels < 1 || track.channels > 7) return fail("aac: no usable config");
                rtp::AdtsHeader adts;
                adts.object_type = 2;  // AAC LC
                adts.sampling_index = *index;
                adts.channel_config = static_cast<std::uint8_t>(track.channels);
                asc = rtp::audio_specific_config(adts);
            }
            p.fmtp_ = rtp::aac_fmtp(asc);
            p.aac_.emplace(max_payload);
            break;
        }
        case Codec::opus:
            p.fmtp_ = track.channels == 2 ? "sprop-stereo=1" : "";
            break;
        case Codec::pcmu:
            p.payload_type_ = k_pt_pcmu;
            break;
        case Codec::pcma:
            p.payload_type_ = k_pt_pcma;
            break;
        case Codec::mp2t:
            p.payload_type_ = rtp::k_mp2t_payload_type;
            p.mp2t_.emplace(max_payload);
            break;
    }
    return p;
}

Result<std::size_t> TrackPacketizer::packetize(Bytes frame, rtp::PayloadList& out) {
    switch (track_.codec) {
        case Codec::h264:
            return h264_->packetize(frame, out);
        case Codec::h265:
            return h265_->packetize(frame, out);
        case Codec::aac:
            return aac_->packetize(frame, out);
        case Codec::opus:
            return rtp::packetize_opus(frame, out, max_payload_);
        case Codec::pcmu:
        case Codec::pcma:
            return rtp::packetize_g711(frame, static_cast<std::size_t>(track_.channels), out);
        case Codec::mp2t:
            return mp2t_->packetize(frame, out);
    }
    return fail("unknown codec");
}

std::string TrackPacketizer::sdp_media() const {
    // An MP2T track carries video and audio alike; RFC 3551 lists it as a video encoding.
    const bool video =
        track_.codec == Codec::h264 || track_.codec == Codec::h265 || track_.codec == Codec::mp2t;
    const std::string pt = std::to_string(payload_type_);
    std::string media = (video ? "m=video 0 RTP/AVP " : "m=audio 0 RTP/AVP ") + pt + "\r\n";
    std::string rtpmap;
    switch (track_.codec) {
        case Codec::h264:
            rtpmap = "H264/90000";
            break;
        case Codec::h265:
            rtpmap = "H265/90000";
            break;
        case Codec::aac:
            rtpmap = "mpeg4-generic/" + std::to_string(track_.clock_rate) + "/" +
                     std::to_string(track_.channels > 0 ? track_.channels : 1);
            break;
        case Codec::opus:
            rtpmap = "opus/48000/2";
            break;  // RFC 7587 §7: always two channels here
        case Codec::pcmu:
        case Codec::pcma:
            rtpmap = std::string(codec_name(track_.codec)) + "/8000";
            if (track_.channels > 1) rtpmap += "/" + std::to_string(track_.channels);
            break;
        case Codec::mp2t:
            rtpmap = "MP2T/90000";
            break;
    }
    media += "a=rtpmap:" + pt + " " + rtpmap + "\r\n";
    if (!fmtp_.empty()) media += "a=fmtp:" + pt + " " + fmtp_ + "\r\n";
    media += "a=control:" + track_control(index_) + "\r\n";
    return media;
}

}  // namespace sg::server
