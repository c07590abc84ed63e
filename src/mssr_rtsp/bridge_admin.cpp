#include "mssr_rtsp/bridge_admin.hpp"

#include "mssr/rtp_adu.hpp"

namespace sg::mssr {

bool start_admin(const RtspBridgeConfig& config, asio::io_context& io, std::unique_ptr<SessionAdmin>& admin,
                 SessionAdmin::SocketSource socket) {
    static_assert(k_rtp_video_stream == 0 && k_rtp_audio_stream == 1 && k_description_stream == 2);
    return start_session_admin(io, config.admin, std::move(socket), {"video", "audio", "description"}, admin);
}

}  // namespace sg::mssr
