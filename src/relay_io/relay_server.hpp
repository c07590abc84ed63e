#pragma once
// `streamgate relay`: the media relay's event loop, its control listeners (rtpengine's ng protocol,
// rtpproxy's protocol) and its media sockets.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "net/endpoint.hpp"
#include "relay/call_table.hpp"
#include "relay_io/media_sockets.hpp"

namespace sg::relay_io {

struct RelayConfig {
    relay::RelaySettings settings;
    std::vector<net::HostPort> listen_ng;
    std::vector<net::HostPort> listen_tcp_ng;        // ng over TCP
    std::vector<net::HostPort> listen_rtpproxy;      // rtpproxy protocol over UDP (rtpengine's --listen-udp)
    std::vector<std::filesystem::path> listen_unix;  // rtpproxy protocol over unix stream sockets
    std::optional<net::HostPort> admin;              // Prometheus /metrics
    std::filesystem::path recording_dir;             // empty: start recording is refused
    std::filesystem::path prompt_dir;                // empty: play media is refused
    unsigned threads = 1;                            // event loops; calls are spread over them by Call-ID
    MediaIo media_io = MediaIo::automatic;           // how the media sockets wait and move datagrams
    int table = -1;  // >= 0: latched media forwarded in the kernel, nftables table streamgate_<table>
    std::string admin_token;  // empty: the admin API is read-only
    std::string version;      // for /api/v1/status
};

// Runs until SIGINT or SIGTERM; returns the process exit status.
int run_relay(const RelayConfig& config);

}  // namespace sg::relay_io
