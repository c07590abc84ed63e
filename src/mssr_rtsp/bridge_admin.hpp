#pragma once
// `--admin HOST:PORT` for the RTSP bridges (rtsp_bridge.hpp): the session's Prometheus series, with the
// streams named as rtp_adu.hpp numbers them.

#include <asio/io_context.hpp>
#include <memory>

#include "mssr_io/session_admin.hpp"
#include "mssr_rtsp/rtsp_bridge.hpp"

namespace sg::mssr {

// start_session_admin() with the streams of the RTSP bridges.
bool start_admin(const RtspBridgeConfig& config, asio::io_context& io, std::unique_ptr<SessionAdmin>& admin,
                 SessionAdmin::SocketSource socket);

}  // namespace sg::mssr
