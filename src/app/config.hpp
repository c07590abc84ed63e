#pragma once
// The gateway's configuration: the TOML schema (documented in docs/configuration.md), the built-in default
// and the command-line overlay. Parsing happens once at start-up, so errors carry full, dynamic messages.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "multicast/allocator.hpp"
#include "net/cidr.hpp"
#include "net/endpoint.hpp"
#include "socks/connector.hpp"
#include "socks/credentials.hpp"
#include "socks/rules.hpp"

namespace sg::app {

// [[rtsp.mount]]: a stream the RTSP proxy listener serves as rtsp://GW:PORT/NAME.
struct RtspMountConfig {
    std::string name;
    std::string url;                 // upstream rtsp:// URL; may carry user:password@
    std::string transport = "auto";  // upstream lower transport: "udp", "tcp" or "auto" (UDP, then TCP)
    std::string user;                // upstream credentials (override the URL's)
    std::string password;
    bool always_on = false;  // play the upstream from start-up instead of on the first DESCRIBE
    // A publish mount (no url): publishers push to it with ANNOUNCE + RECORD, authenticated with
    // publish_user/publish_password when set; a second publisher is refused 455, or takes over with
    // publish_takeover.
    bool publish = false;
    std::string publish_user;
    std::string publish_password;
    bool publish_takeover = false;
    // This mount's GOP cache limits and burst rate; unset: [rtsp] gop_cache_bytes / gop_cache_packets /
    // gop_burst_kbps.
    std::optional<std::uint32_t> gop_cache_bytes;
    std::optional<std::uint32_t> gop_cache_packets;
    std::optional<std::uint32_t> gop_burst_kbps;
    // An rtsps:// upstream: check its certificate and name (tls_verify), against the CAs of tls_ca (a PEM
    // file; "": the system's).
    bool tls_verify = true;
    std::string tls_ca;
    // A fixed multicast group for this mount's multicast players ("" none: from [rtsp] multicast_ranges),
    // and the even port of its first track's RTP (track k: multicast_port + 2k).
    std::string multicast_group;
    std::uint32_t multicast_port = 0;
    // A non-live upstream (a file) is recorded into [rtsp] vod_cache_dir the first time and later players
    // are served from the recording (proxy/mount_vod.cpp).
    bool vod_cache = false;
    bool operator==(const RtspMountConfig&) const = default;
};

struct GatewayConfig {
    std::vector<net::HostPort> socks_listeners;
    std::vector<net::Cidr> allow;  // empty: loopback clients only
    socks::FamilyPolicy family_policy = socks::FamilyPolicy::any;
    std::optional<net::HostPort> admin;  // Prometheus /metrics and the JSON API; none: off
    std::string admin_token_file;        // the API's bearer token (first line); "": the API is read-only
    socks::Credentials users;            // RFC 1929 accounts; any: "no authentication" is refused
    std::vector<socks::Rule> rules;      // [[rule]] tables in order; none: the allow-list decides
    std::chrono::seconds handshake_timeout{10};
    std::chrono::seconds connect_timeout{10};
    std::chrono::seconds idle_timeout{300};
    std::chrono::seconds drain_timeout{5};
    // Event loops (one thread each) SOCKS sessions are spread over; 0: one per core. Fixed at start-up.
    std::uint32_t threads = 0;
    // Runs of equal-sized datagrams to one receiver leave as one UDP GSO message (net::UdpSendBatch).
    bool udp_segmentation = true;
    std::uint32_t max_sessions = 65536;
    std::uint32_t max_sessions_per_client = 0;
    std::uint32_t max_udp_associations = 4096;
    std::string log_level = "info";
    // [alg]: the RTSP application-level gateway in the CONNECT path (proxy/rtsp_alg.hpp).
    bool alg_enabled = true;
    std::uint16_t alg_port_first = 30000;  // UDP ports of its media relays, [first, last]
    std::uint16_t alg_port_last = 39999;
    std::chrono::seconds alg_session_timeout{120};
    // [rtsp]: the RTSP proxy listener with mounts (proxy/rtsp_proxy.hpp); no listener: off.
    std::vector<net::HostPort> rtsp_listeners;
    // RTSPS listeners (RTSP over TLS) and their PEM certificate chain and key.
    std::vector<net::HostPort> rtsp_tls_listeners;
    std::string rtsp_tls_certificate;
    std::string rtsp_tls_key;
    std::chrono::seconds rtsp_session_timeout{60};
    // Player connections over these are answered 503 and closed (0 = no limit).
    std::uint32_t rtsp_max_connections = 4096;
    std::uint32_t rtsp_max_connections_per_client = 256;
    std::vector<RtspMountConfig> rtsp_mounts;
    // Per mount and track, the packets since the last key frame are kept up to these limits so a late
    // joiner starts at once (restream/gop_cache.hpp); 0 turns the cache off.
    std::uint32_t rtsp_gop_cache_bytes = 1U << 20U;
    std::uint32_t rtsp_gop_cache_packets = 1024;
    // How fast a joining player's cached GOP goes out, kbit/s (MountConfig::gop_burst_rate); 0: at once.
    std::uint32_t rtsp_gop_burst_kbps = 20000;
    // Helper threads a mount's large UDP fan-out is shared with; none: one per event loop besides the
    // mounts' own (threads - 1).
    std::optional<std::uint32_t> rtsp_fanout_threads;
    // [rtsp] users: Digest accounts of players (name, password); none: players are not authenticated.
    std::vector<std::pair<std::string, std::string>> rtsp_users;
    std::string rtsp_realm = "streamgate";
    // [rtsp] websocket_origins: Origins whose web pages may open RTSP over WebSocket (none by default:
    // only clients that send no Origin, which are not browsers).
    std::vector<std::string> rtsp_websocket_origins;
    // [rtsp] multicast_ranges, multicast_ports, multicast_ttl, multicast_interface: groups for mount players
    // asking for multicast; no range: refused (461).
    multicast::MulticastSettings rtsp_multicast;
    // [rtsp] vod_cache_dir, vod_cache_max_mb, vod_cache_fresh_s: where mounts with vod_cache = true keep
    // their recordings ("": no cache), how many MiB in all (LRU eviction), and how long an entry is served
    // before it is checked against its upstream again.
    std::string rtsp_vod_cache_dir;
    std::uint32_t rtsp_vod_cache_max_mb = 10240;
    std::chrono::seconds rtsp_vod_cache_fresh{60};
};

// "NAME=URL" of --mount: upstream transport auto, on demand, credentials from the URL.
sg::Result<RtspMountConfig> parse_mount_spec(std::string_view text);
// Checks a mount: name (letters, digits, '-', '_', '.'; not "track..."), rtsp:// URL, transport.
sg::Result<RtspMountConfig> check_mount(RtspMountConfig mount);

// "NAME:PASSWORD" of [rtsp] users and --rtsp-user, appended to `users`; fails on a name given twice.
sg::Result<bool> add_rtsp_user(std::string_view spec,
                               std::vector<std::pair<std::string, std::string>>& users);

// "A-B" with 1 <= A < B <= 65535 (at least one even/odd RTP/RTCP pair), for [alg] ports and --alg-ports.
sg::Result<std::pair<std::uint16_t, std::uint16_t>> parse_alg_ports(std::string_view text);

// The TOML text compiled into the binary.
std::string_view default_config_text();

// Parses a configuration. Unknown keys are errors: a misspelt option must not silently fall back to a
// default. On failure `error` names every problem, one a line, as "SOURCE:LINE: what" (`source` names the
// text: a file path or "built-in default").
std::optional<GatewayConfig> parse_config(std::string_view toml_text, std::string_view source,
                                          std::string& error);

std::optional<GatewayConfig> load_config_file(const std::string& path, std::string& error);

// The admin API's bearer token: the first line of `path`, trimmed, 16 characters or more. nullopt with
// `error` set otherwise.
std::optional<std::string> read_admin_token(const std::string& path, std::string& error);

}  // namespace sg::app
