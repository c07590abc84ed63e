#pragma once
// The RTSP proxy listener of `streamgate gateway --rtsp ADDR --mount NAME=URL`: players connect to
// rtsp://GW:PORT/NAME and get the mount's upstream stream (see mount.hpp), in their own address family and
// their choice of UDP or interleaved TCP. Admission follows the gateway's client allow-list.

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <chrono>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "metrics/registry.hpp"
#include "net/accept_loop.hpp"
#include "net/cidr.hpp"
#include "net/rate_limited_log.hpp"
#include "proxy/mount.hpp"
#include "proxy/mount_vod.hpp"
#include "proxy/proxy_connection.hpp"
#include "rtsp/digest_server.hpp"
#include "rtsp_server/connection_registry.hpp"

namespace sg::proxy {

struct RtspProxyOptions {
    std::vector<MountConfig> mounts;
    std::vector<net::Cidr> allow;  // empty: loopback players only
    std::chrono::seconds session_timeout{60};
    MountTiming timing;
    // Digest auth of players (name, password); empty: players are not authenticated.
    std::vector<std::pair<std::string, std::string>> users;
    std::string realm = "streamgate";
    // Player connections over these are answered 503 and closed (0 = no limit).
    server::RtspConnectionCaps caps;
    // Multicast groups for players asking for multicast (mount_multicast.hpp); no range: 461. Read at
    // start only: a reload keeps the groups running.
    multicast::MulticastSettings multicast;
    // Origins whose web pages may open RTSP over WebSocket (websocket::origin_allowed); a reload applies
    // to new connections.
    std::vector<std::string> websocket_origins;
    // The VOD cache of mounts with vod_cache (proxy/mount_vod.cpp); read at start only.
    VodCacheOptions vod_cache;
    // Helper threads that share a large UDP fan-out with the mounts' loop (fanout_port.hpp); null: the loop
    // sends alone. Not owned; read at start only.
    net::ForkJoinPool* fanout_pool = nullptr;
};

class RtspProxy {
public:
    RtspProxy(asio::io_context& io, RtspProxyOptions options, metrics::Registry* registry);
    ~RtspProxy();
    RtspProxy(const RtspProxy&) = delete;
    RtspProxy& operator=(const RtspProxy&) = delete;

    // Opens a listener, an RTSPS one (RTSP over TLS) when `tls` (a server context) is given; the bound
    // endpoint, or nothing with `error` set.
    std::optional<asio::ip::tcp::endpoint> listen(const asio::ip::tcp::endpoint& endpoint, std::string& error,
                                                  std::shared_ptr<asio::ssl::context> tls = nullptr);
    // Opens the VOD cache of options.vod_cache (before listen()); false with `error` when its directory
    // cannot be used.
    bool open_vod_cache(std::string& error);
    // Starts the always-on mounts' upstreams.
    void start();
    // SIGHUP: applies a freshly loaded configuration on the proxy's executor (rtsp_proxy_reload.cpp). The
    // allow-list, player accounts and session timeout apply to new connections and requests at once; new
    // mounts serve, removed mounts end their players ("mount removed by reload"), mounts whose upstream
    // changed end their players and start afresh. Listeners and the nonce secret stay.
    void reload(RtspProxyOptions fresh);
    void stop_accepting();
    // The mount of that name (null if none): how a fed mount (MountConfig::fed) gets its media.
    std::shared_ptr<Mount> find_mount(std::string_view name) const;

    // The admin API, on the proxy's executor: the mounts by name, the player sessions by mount and id, and
    // ending one player session (false: no such session).
    std::vector<MountSnapshot> mounts() const;
    std::vector<PlayerSnapshot> players() const;
    bool end_player(const std::string& id);
    // Ends the publisher of the publish mount `mount` ("ended by operator"); false when it has none.
    bool end_publisher(std::string_view mount);

    // Ends every player and upstream (gateway shutdown).
    void shutdown();

private:
    void admit(asio::ip::tcp::socket socket, asio::ssl::context* tls);
    void apply(RtspProxyOptions fresh);
    std::shared_ptr<Mount> make_mount(const MountConfig& config);
    // Player Digest auth from options_.users; null without users or when they do not make a server.
    std::shared_ptr<const rtsp::DigestServer> make_auth(std::string& error) const;
    bool allowed(const asio::ip::address& address) const;

    asio::io_context& io_;
    RtspProxyOptions options_;
    metrics::Registry* registry_ = nullptr;
    rtsp::NonceSecret nonce_secret_{};  // per process, kept across reloads: issued nonces stay good
    bool started_ = false;
    std::map<std::string, std::shared_ptr<Mount>, std::less<>> mounts_;
    std::shared_ptr<ProxyConnectionContext> context_;
    std::list<asio::ip::tcp::acceptor> acceptors_;
    std::list<net::AcceptCounters> accept_counters_;
    std::list<std::shared_ptr<asio::ssl::context>> tls_contexts_;  // of the RTSPS listeners
    server::ConnectionRegistry<ProxyConnection> connections_;
    metrics::Counter* refused_ = nullptr;
    metrics::Counter* connections_total_ = nullptr;
    net::RateLimitedLog refused_log_{"rtsp proxy: players not in the allow-list"};
    server::RtspListenerCaps caps_;
};

}  // namespace sg::proxy
