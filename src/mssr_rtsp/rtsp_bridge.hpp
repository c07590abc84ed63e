#pragma once
// RTSP in, MSSR-RTP across the lossy path, RTSP out: the I/O half of `streamgate mssr send rtsp://...` and
// `streamgate mssr recv --serve rtsp://...` (docs/mssr.md). The sender plays the origin with the RTSP client
// core (interleaved TCP, so nothing is lost before MSSR takes over), or takes RTP over UDP as an SDP file
// describes it (`mssr send FILE.sdp`, what ffmpeg's RTP muxer writes with -sdp_file), and carries its RTP
// packets per frame (src/mssr/rtp_adu.hpp) with the SDP; the receiver feeds what arrives to a mount of the
// RTSP proxy machinery (src/proxy, MountConfig::fed), which serves any player over UDP or TCP in either
// family, and/or re-emits them as plain RTP described by an SDP file. Both run until SIGINT/SIGTERM or until
// the session ends, then write their statistics.

#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "mssr_io/socket.hpp"
#include "net/cidr.hpp"

namespace sg::mssr {

struct RtspBridgeConfig {
    std::string source_url;  // send: rtsp://origin/...
    // send: instead of source_url, an SDP file: each m= section's RTP arrives on its port at the c= address
    // (bound there; a multicast group is joined), its RTCP on the port above (a BYE ends the input).
    std::string source_sdp_file;
    Rendezvous mssr;                // where the MSSR session's ends meet, and whether this end waits there
    bool serve_rtsp = false;        // recv: serve a mount (--serve)
    asio::ip::tcp::endpoint serve;  // recv: the RTSP listener
    std::string mount;              // recv: rtsp://SERVE/MOUNT
    // recv --rtp HOST:PORT --sdp FILE: plain RTP, track i to PORT + 2 i, described in FILE (rtp_out_sdp.hpp).
    std::optional<asio::ip::udp::endpoint> rtp_out;
    std::string sdp_file;
    std::vector<net::Cidr> allow;  // recv: players allowed (empty: loopback only)
    // send: MSS, congestion; streams[0] the video policy, streams[1] the audio (and any other track's) one.
    SocketOptions options;
    std::string stats_json;
    std::optional<asio::ip::tcp::endpoint> admin;  // Prometheus /metrics for the session (none by default)
    std::chrono::milliseconds progress_interval{1000};
    // send: how often the session description is sent again (a lost copy costs one period).
    std::chrono::milliseconds description_interval{1000};
    // send: after the origin ends, the session stays this long so the last frames' repairs arrive.
    std::chrono::milliseconds drain{1000};
};

// Exit statuses as run_ts_send / run_ts_recv: 0 after a signal or an ended session, 1 when a session could
// not be set up (origin, receiver), 2 when a socket could not be opened.
int run_rtsp_send(const RtspBridgeConfig& config);
int run_rtsp_serve(const RtspBridgeConfig& config);

}  // namespace sg::mssr
