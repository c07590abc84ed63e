#pragma once
// The statistics a `streamgate mssr` run writes with --stats-json, built once for every bridge (MPEG-TS and
// RTSP): the sender's repair and congestion figures and the socket's datagram counters.

#include <nlohmann/json.hpp>

#include "mssr/sender.hpp"
#include "mssr_io/socket.hpp"

namespace sg::mssr {

nlohmann::ordered_json sender_stats_json(const Sender& sender);
nlohmann::ordered_json socket_stats_json(const SocketStats& stats);

}  // namespace sg::mssr
