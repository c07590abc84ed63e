#include "restream/mount_sdp.hpp"

#include <algorithm>

#include "common/text.hpp"
#include "sdp/sdp.hpp"
#include "sdp/sdp_attributes.hpp"
#include "sdp/sdp_rewrite.hpp"

namespace sg::proxy {
namespace {

// Same test as client::parse_presentation, so track indexes agree with the upstream session's tracks.
// client::k_max_tracks, without depending on the client library.
constexpr std::size_t client_max_tracks = 16;

bool is_rtp(const sdp::MediaDescription& media) {
    return istarts_with(media.proto, "RTP/");
}

void set_control(std::vector<sdp::Attribute>& attributes, std::string value) {
    std::erase_if(attributes, [](const sdp::Attribute& a) { return iequals(a.name, "control"); });
    attributes.push_back(sdp::Attribute{"control", std::move(value)});
}

}  // namespace

std::string mount_track_control(std::size_t index) {
    return "track" + std::to_string(index);
}

Result<std::string> mount_sdp(std::string_view upstream_sdp, std::string_view address, bool ipv6) {
    auto parsed = sdp::parse(upstream_sdp);
    if (!parsed) return fail("upstream SDP does not parse");
    auto& sd = *parsed;
    std::erase_if(sd.media, [](const sdp::MediaDescription& m) { return !is_rtp(m); });
    if (sd.media.empty()) return fail("upstream SDP has no RTP track");
    if (sd.media.size() > client_max_tracks) return fail("upstream SDP has too many tracks");
    // Every section needs a c= (RFC 4566 §5.7); rewrite_addresses below gives it the gateway's address.
    const bool all_have_one =
        std::all_of(sd.media.begin(), sd.media.end(),
                    [](const sdp::MediaDescription& m) { return !m.connections.empty(); });
    if (!sd.connection && !all_have_one) {
        sdp::Connection connection;
        connection.nettype = "IN";
        connection.addrtype = "IP4";
        connection.address = "0.0.0.0";
        sd.connection = connection;
    }
    if (!sdp::rewrite_addresses(sd, address, ipv6 ? "IP6" : "IP4")) return fail("bad gateway address");
    set_control(sd.attributes, "*");
    for (std::size_t i = 0; i < sd.media.size(); ++i) {
        sd.media[i].port = 0;
        sd.media[i].port_count.reset();
        set_control(sd.media[i].attributes, mount_track_control(i));
    }
    return sdp::to_string(sd);
}

std::vector<std::string> mount_track_encodings(std::string_view upstream_sdp) {
    std::vector<std::string> out;
    const auto parsed = sdp::parse(upstream_sdp);
    if (!parsed) return out;
    for (const auto& media : parsed->media) {
        if (!is_rtp(media)) continue;
        const auto types = sdp::payload_types(media);
        const auto map = types.empty() ? std::nullopt : sdp::find_rtpmap(media, types.front());
        out.push_back(map ? map->encoding : std::string());
    }
    return out;
}

}  // namespace sg::proxy
