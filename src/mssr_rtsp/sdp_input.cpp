#include "mssr_rtsp/sdp_input.hpp"

#include "sdp/sdp.hpp"

namespace sg::mssr {

Result<std::vector<SdpInputTrack>> sdp_input_tracks(std::string_view text) {
    const auto sd = sdp::parse(text);
    if (!sd) return fail("the SDP does not parse");
    if (sd->media.empty()) return fail("the SDP has no m= section");
    std::vector<SdpInputTrack> tracks;
    for (const sdp::MediaDescription& m : sd->media) {
        if (!m.proto.starts_with("RTP/")) return fail("an m= section is not RTP (RTP/AVP)");
        if (m.port == 0) return fail("an m= section has port 0 (disabled)");
        if (m.port_count && *m.port_count != 1) return fail("an m= section spans several ports");
        const sdp::Connection* c = !m.connections.empty() ? &m.connections.front()
                                   : sd->connection       ? &*sd->connection
                                                          : nullptr;
        if (c == nullptr) return fail("an m= section has no c= address");
        if (c->nettype != "IN" || (c->addrtype != "IP4" && c->addrtype != "IP6"))
            return fail("a c= line is not IN IP4 or IN IP6");
        asio::error_code ec;
        const auto address = asio::ip::make_address(c->address, ec);
        if (ec) return fail("a c= address is not an IP literal");
        if (address.is_v6() != (c->addrtype == "IP6")) return fail("a c= address is not of its family");
        tracks.push_back(SdpInputTrack{m.media, address, m.port});
    }
    return tracks;
}

}  // namespace sg::mssr
