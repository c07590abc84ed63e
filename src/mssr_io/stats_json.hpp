#pragma once
// The statistics a `streamgate mssr` run writes with --stats-json, built once for every bridge (MPEG-TS and
// RTSP): the sender's repair and congestion figures, the receiver's per stream and per session, and the
// socket's datagram counters.

#include <nlohmann/json.hpp>

#include "mssr/reassembler.hpp"
#include "mssr/sender.hpp"
#include "mssr_io/socket.hpp"

namespace sg::mssr {

nlohmann::ordered_json sender_stats_json(const Sender& sender);
nlohmann::ordered_json socket_stats_json(const SocketStats& stats);
// One stream's receive figures (the caller names the stream).
nlohmann::ordered_json stream_stats_json(const StreamStats& stats);
// The receiver's session-wide figures: requests, reordering, parity.
nlohmann::ordered_json receiver_stats_json(const Reassembler& receiver, TimePoint now);

}  // namespace sg::mssr
