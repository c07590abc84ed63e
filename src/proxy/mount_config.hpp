#pragma once
// What configures one mount of the RTSP proxy listener (`--mount NAME=URL`, [[rtsp.mount]]): plain data,
// shared by the running Mount and the pure reload diff (mount_table_diff.hpp).

#include <asio/ip/address.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "restream/gop_cache.hpp"
#include "rtsp/url.hpp"

namespace sg::proxy {

// http: interleaved in an RTSP-over-HTTP tunnel (the QuickTime GET/POST scheme), for upstreams behind
// firewalls that pass only HTTP.
// http: interleaved in an RTSP-over-HTTP tunnel; websocket: interleaved in RTSP over WebSocket (ONVIF).
enum class UpstreamTransport : std::uint8_t { udp, tcp, automatic, http, websocket };

struct MountConfig {
    std::string name;
    rtsp::Url url;  // with the mount's credentials in user/password, if any
    UpstreamTransport transport = UpstreamTransport::automatic;
    bool always_on = false;
    // The process feeds the media (Mount::feed_start / feed_rtp; the MSSR receiver of `mssr recv --serve`)
    // instead of an RTSP upstream at `url`.
    bool fed = false;
    // Publishers push the media (ANNOUNCE + RECORD, proxy/publisher_session.hpp) instead of an upstream at
    // `url`, authenticated with publish_user/publish_password when set. A second publisher is refused (455)
    // while one publishes, or takes the mount over when publish_takeover is set.
    bool publish = false;
    std::string publish_user;
    std::string publish_password;
    bool publish_takeover = false;
    // The GOP cache that starts late joiners at once (restream/gop_cache.hpp); zero limits turn it off.
    GopCacheLimits gop_cache;
    // How fast a joining player's cached GOP goes out (bytes per second, all its tracks together), so the
    // burst does not overflow a player's socket buffer or a queue on the way; live packets wait behind it.
    // 0: at once, in the PLAY reply's wake.
    std::uint64_t gop_burst_rate = 0;
    // An rtsps:// upstream: check its certificate (against tls_ca, a PEM file, or the system's CAs) and name.
    bool tls_verify = true;
    std::string tls_ca;
    // A configured multicast group of this mount (outside the [rtsp] ranges), for players of its family
    // asking for multicast; RTP of track k on multicast_port + 2k. None: groups come from the ranges.
    std::optional<asio::ip::address> multicast_group;
    std::uint16_t multicast_port = 0;
    // A non-live upstream is recorded into the VOD cache the first time; later players are served from the
    // recording (proxy/mount_vod.cpp).
    bool vod_cache = false;

    bool operator==(const MountConfig&) const = default;
};

}  // namespace sg::proxy
