#include "mssr_rtsp/rtp_out_sdp.hpp"

#include "restream/mount_sdp.hpp"
#include "sdp/sdp.hpp"
#include "sdp/sdp_rewrite.hpp"

namespace sg::mssr {

Result<std::string> rtp_out_sdp(std::string_view origin_sdp, std::string_view address, bool ipv6,
                                std::uint16_t first_port) {
    const auto players = proxy::mount_sdp(origin_sdp, address, ipv6);
    if (!players) return fail(players.error());
    auto parsed = sdp::parse(*players);
    if (!parsed) return fail("SDP does not parse");
    for (std::size_t i = 0; i < parsed->media.size(); ++i) {
        if (std::size_t{first_port} + 2 * i > 65535) return fail("track port beyond 65535");
        (void)sdp::set_media_port(*parsed, i, rtp_out_port(first_port, i));
    }
    return sdp::to_string(*parsed);
}

}  // namespace sg::mssr
