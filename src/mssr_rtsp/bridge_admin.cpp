#include "mssr_rtsp/bridge_admin.hpp"

#include <fmt/format.h>

#include <cstdio>

#include "mssr/rtp_adu.hpp"
#include "net/asio_endpoint.hpp"

namespace sg::mssr {

bool start_admin(const RtspBridgeConfig& config, asio::io_context& io, std::unique_ptr<SessionAdmin>& admin,
                 SessionAdmin::SocketSource socket) {
    if (!config.admin) return true;
    static_assert(k_rtp_video_stream == 0 && k_rtp_audio_stream == 1 && k_description_stream == 2);
    std::string error;
    admin =
        SessionAdmin::start(io, *config.admin, std::move(socket), {"video", "audio", "description"}, error);
    if (admin) return true;
    std::fputs(
        fmt::format("streamgate: mssr: --admin {}: {}\n", net::to_string(*config.admin), error).c_str(),
        stderr);
    return false;
}

}  // namespace sg::mssr
