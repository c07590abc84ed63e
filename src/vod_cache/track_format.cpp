#include "vod_cache/track_format.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <string>

#include "common/text.hpp"
#include "http/base64_decoder.hpp"
#include "sdp/sdp.hpp"
#include "sdp/sdp_attributes.hpp"

namespace sg::vod {
namespace {

constexpr std::array<std::uint8_t, 4> k_start_code{0, 0, 0, 1};

// Comma-separated base64 parameter sets, each behind a start code (what FFmpeg's muxers take as Annex B
// extradata and turn into avcC/hvcC).
bool append_parameter_sets(std::string_view list, std::vector<std::uint8_t>& out) {
    while (!list.empty()) {
        const auto comma = list.find(',');
        const auto item = list.substr(0, comma);
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
        if (item.empty()) continue;
        std::vector<std::uint8_t> nal;
        http::Base64Decoder decoder;
        if (!decoder.feed(item, nal) || !decoder.at_boundary() || nal.empty()) return false;
        out.insert(out.end(), k_start_code.begin(), k_start_code.end());
        out.insert(out.end(), nal.begin(), nal.end());
    }
    return true;
}

// Appends the bytes that `text` (pairs of hexadecimal digits) spells.
bool append_hex_bytes(std::string_view text, std::vector<std::uint8_t>& out) {
    if (text.empty() || text.size() % 2 != 0) return false;
    for (std::size_t i = 0; i < text.size(); i += 2) {
        const auto byte = parse_hex<std::uint8_t>(text.substr(i, 2));
        if (!byte) return false;
        out.push_back(*byte);
    }
    return true;
}

std::optional<unsigned> parse_bits(std::optional<std::string_view> text, unsigned fallback) {
    if (!text) return fallback;
    unsigned value = 0;
    const auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (ec != std::errc{} || ptr != text->data() + text->size() || value > 32) return std::nullopt;
    return value;
}

// RFC 7845 §5.1 identification header: mapping family 0 (mono or stereo), no pre-skip known, 48 kHz.
std::vector<std::uint8_t> opus_head(int channels) {
    std::vector<std::uint8_t> head{
        'O', 'p', 'u',  's',  'H', 'e', 'a', 'd', 1, static_cast<std::uint8_t>(channels),
        0,   0,   0x80, 0xbb, 0,   0,   0,   0,   0};
    return head;
}

Result<TrackFormat> track_format(const sdp::MediaDescription& media) {
    if (media.formats.empty()) return fail("a track without a payload type");
    std::uint8_t payload_type = 0;
    const auto& first = media.formats.front();
    if (std::from_chars(first.data(), first.data() + first.size(), payload_type).ec != std::errc{})
        return fail("a track without an RTP payload type");
    const auto rtpmap = sdp::find_rtpmap(media, payload_type);
    if (!rtpmap || rtpmap->clock_rate == 0) return fail("a track without a clock rate");
    const auto fmtp = sdp::find_fmtp(media, payload_type);
    const auto parameter = [&fmtp](std::string_view name) -> std::optional<std::string_view> {
        if (!fmtp) return std::nullopt;
        return sdp::fmtp_parameter(*fmtp, name);
    };
    TrackFormat format;
    format.clock_rate = rtpmap->clock_rate;
    format.channels = static_cast<int>(rtpmap->channels.value_or(1));
    const std::string_view name = rtpmap->encoding;
    if (iequals(name, "h264")) {
        format.codec = rtp::DepacketizedCodec::h264;
        const auto sets = parameter("sprop-parameter-sets");
        if (!sets || !append_parameter_sets(*sets, format.extradata) || format.extradata.empty())
            return fail("H.264 without sprop-parameter-sets");
    } else if (iequals(name, "h265")) {
        format.codec = rtp::DepacketizedCodec::h265;
        if (parameter("sprop-max-don-diff")) return fail("H.265 with DONL");
        for (const auto* set : {"sprop-vps", "sprop-sps", "sprop-pps"}) {
            const auto value = parameter(set);
            if (!value || !append_parameter_sets(*value, format.extradata))
                return fail("H.265 without sprop-vps, sprop-sps and sprop-pps");
        }
    } else if (iequals(name, "mpeg4-generic")) {
        format.codec = rtp::DepacketizedCodec::aac;
        const auto mode = parameter("mode");
        const auto config = parameter("config");
        if (!mode || !istarts_with(*mode, "aac") || !config || !append_hex_bytes(*config, format.extradata))
            return fail("mpeg4-generic that is not AAC with a config");
        const auto size_length = parse_bits(parameter("sizelength"), 13);
        const auto index_length = parse_bits(parameter("indexlength"), 3);
        const auto delta_length = parse_bits(parameter("indexdeltalength"), 3);
        if (!size_length || !index_length || !delta_length || *size_length == 0 ||
            *delta_length != *index_length)
            return fail("AAC with AU headers we cannot read");
        format.size_length = *size_length;
        format.index_length = *index_length;
    } else if (iequals(name, "opus")) {
        format.codec = rtp::DepacketizedCodec::opus;
        format.channels = std::clamp(format.channels, 1, 2);
        format.extradata = opus_head(format.channels);
    } else if (iequals(name, "pcmu") || iequals(name, "pcma")) {
        format.codec = iequals(name, "pcmu") ? rtp::DepacketizedCodec::pcmu : rtp::DepacketizedCodec::pcma;
    } else if (iequals(name, "mp2t")) {
        format.codec = rtp::DepacketizedCodec::mp2t;
    } else {
        return fail("a codec the cache cannot store");
    }
    return format;
}

}  // namespace

Result<std::vector<TrackFormat>> track_formats(std::string_view sdp_text) {
    const auto sd = sdp::parse(sdp_text);
    if (!sd) return fail("the SDP does not parse");
    std::vector<TrackFormat> formats;
    for (const auto& media : sd->media) {
        auto format = track_format(media);
        if (!format) return Error{format.error()};
        formats.push_back(std::move(*format));
    }
    if (formats.empty()) return fail("no track");
    for (const auto& format : formats) {
        if (format.codec == rtp::DepacketizedCodec::mp2t && formats.size() != 1)
            return fail("MP2T next to other tracks");
    }
    return formats;
}

}  // namespace sg::vod
