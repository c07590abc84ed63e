#pragma once
// MPEG-TS over UDP in, MSSR-RTP across the lossy path, MPEG-TS over UDP out: the I/O half of
// `streamgate mssr send` and `streamgate mssr recv`. The TS bytes are not remuxed: TsGrouper (src/mssr) cuts
// them into ADUs per PES and the receiver writes each complete ADU back out unchanged, so whatever read the
// source (ffmpeg, ffprobe, a player) reads the output. Runs until SIGINT/SIGTERM or until the session ends
// (the peer fell silent), then writes the statistics.

#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <chrono>
#include <optional>
#include <string>

#include "mssr_io/socket.hpp"

namespace sg::mssr {

struct TsBridgeConfig {
    asio::ip::udp::endpoint ts;  // send: where the TS input arrives; recv: where the TS output goes
    Rendezvous mssr;             // where the MSSR session's ends meet, and whether this end waits there
    SocketOptions options;       // role, MSS, stream policies (send), congestion
    std::string stats_json;      // statistics written here at exit (empty: none)
    std::optional<asio::ip::tcp::endpoint> admin;  // Prometheus /metrics for the session (none by default)
    std::chrono::milliseconds progress_interval{1000};  // a line on stderr (0: none)
    // send: an input pause this long ends the open ADUs (the last frame of a stream that stopped).
    std::chrono::milliseconds input_idle_flush{200};
};

// Exit statuses: 0 after a signal or a session that ended, 1 when the session could not be set up,
// 2 when a socket could not be opened.
int run_ts_send(const TsBridgeConfig& config);
int run_ts_recv(const TsBridgeConfig& config);

}  // namespace sg::mssr
