#pragma once
// Settings of `streamgate serve`.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

#include "multicast/allocator.hpp"
#include "net/endpoint.hpp"

namespace sg::server {

struct ServeConfig {
    std::filesystem::path root;  // canonical
    std::vector<net::HostPort> listen;
    // RTSPS listeners (RTSP over TLS, rtsps://) and their certificate chain and key (PEM files).
    std::vector<net::HostPort> tls_listen;
    std::filesystem::path tls_certificate;
    std::filesystem::path tls_key;
    std::optional<net::HostPort> admin;  // Prometheus /metrics listener
    bool loop = false;
    std::uint16_t rtp_port_first = 20000;
    std::uint16_t rtp_port_last = 29999;
    std::chrono::seconds session_timeout{60};
    std::size_t max_payload = 1400;
    bool mp2t = false;  // send every file as one MPEG-TS track (RFC 2250), not only those we cannot packetize
    unsigned threads = 0;  // event loops; 0: one per core
    // Connections over these are answered 503 and closed (0 = no limit).
    std::uint32_t max_connections = 4096;
    std::uint32_t max_connections_per_client = 256;
    multicast::MulticastSettings multicast;  // no range: multicast SETUPs get 461
    // Origins whose web pages may open RTSP over WebSocket (websocket::origin_allowed); clients sending no
    // Origin (not browsers) need no entry.
    std::vector<std::string> websocket_origins;
};

}  // namespace sg::server
