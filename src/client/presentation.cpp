#include "client/presentation.hpp"

#include "common/text.hpp"
#include "rtsp/range.hpp"
#include "rtsp/url.hpp"
#include "sdp/sdp.hpp"
#include "sdp/sdp_attributes.hpp"

namespace sg::client {
namespace {

// RFC 2326 C.1.1: no a=control at all means the base URL itself.
std::string resolve_control(std::string_view base, std::optional<std::string_view> control) {
    return rtsp::resolve_reference(base, control.value_or(""));
}

std::optional<double> npt_duration(std::optional<std::string_view> range_text) {
    if (!range_text) return std::nullopt;
    const auto range = rtsp::parse_range(*range_text);
    if (!range) return std::nullopt;
    const auto* npt = range->npt();
    if (npt == nullptr || !npt->end || npt->end->now) return std::nullopt;
    const double start = (npt->start && !npt->start->now) ? npt->start->seconds : 0.0;
    if (npt->end->seconds <= start) return std::nullopt;
    return npt->end->seconds - start;
}

}  // namespace

std::string base_url(const rtsp::Response& describe_reply, std::string_view request_url) {
    for (const auto* name : {"Content-Base", "Content-Location"}) {
        const auto* value = describe_reply.headers.get(name);
        if (value == nullptr) continue;
        auto text = std::string(trim(*value));
        // A relative Content-Location is resolved against the request (RFC 2616 §14.14).
        auto resolved = rtsp::resolve_reference(request_url, text);
        if (!resolved.empty()) return resolved;
    }
    return std::string(request_url);
}

Result<Presentation> parse_presentation(std::string_view sdp_text, std::string_view base) {
    if (!rtsp::parse_url(base)) return fail("base URL is not an RTSP URL");
    const auto sd = sdp::parse(sdp_text);
    if (!sd) return fail("SDP does not parse");
    Presentation out;
    out.aggregate_url = resolve_control(base, sdp::control_url(*sd));
    if (out.aggregate_url.empty()) return fail("SDP control URL does not resolve");
    out.duration_s = npt_duration(sdp::range_value(*sd));
    for (const auto& media : sd->media) {
        if (!istarts_with(media.proto, "RTP/")) continue;
        if (out.tracks.size() == k_max_tracks) return fail("SDP has too many tracks");
        Track track;
        track.media = media.media;
        track.control_url = resolve_control(base, sdp::control_url(media));
        if (track.control_url.empty()) return fail("SDP track control URL does not resolve");
        track.payload_types = sdp::payload_types(media);
        if (track.payload_types.empty()) return fail("SDP track has no RTP payload type");
        if (const auto map = sdp::find_rtpmap(media, track.payload_types.front())) {
            if (map->clock_rate > 0) track.clock_rate = map->clock_rate;
            track.encoding = map->encoding;
        }
        if (!out.duration_s) out.duration_s = npt_duration(sdp::range_value(media));
        out.tracks.push_back(std::move(track));
    }
    if (out.tracks.empty()) return fail("SDP has no RTP track");
    return out;
}

}  // namespace sg::client
