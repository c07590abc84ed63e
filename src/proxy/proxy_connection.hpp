#pragma once
// One player's RTSP control connection to the proxy listener: OPTIONS, DESCRIBE (the mount's SDP for this
// player), SETUP over UDP or interleaved TCP whatever the upstream uses, PLAY, PAUSE, TEARDOWN and the
// GET/SET_PARAMETER keep-alive, with the status codes of `streamgate serve` (404 unknown mount, 454 unknown
// session, 455 wrong state, 461 unsupported transport, 502 upstream unavailable). A publisher's connection
// to a publish mount: ANNOUNCE (the SDP; 405 on a mount that is not publishable, 455 while another
// publisher holds it), SETUP with mode=record, RECORD, TEARDOWN (publisher_session.hpp), authenticated with
// the mount's own publish credentials. The connection's I/O
// (ordered replies, a bounded write queue so a slow TCP player loses its own packets, timeouts) is serve's
// (server::RtspServerConnection).

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/units.hpp"
#include "metrics/registry.hpp"
#include "multicast/allocator.hpp"
#include "proxy/player_session.hpp"
#include "proxy/publisher_session.hpp"
#include "rtsp/digest_server.hpp"
#include "rtsp/message.hpp"
#include "rtsp/transport.hpp"
#include "rtsp_server/rtsp_server_connection.hpp"
#include "server/file_sessions.hpp"

namespace sg::proxy {

class Mount;
struct VodCache;

struct ProxyConnectionContext {
    std::function<std::shared_ptr<Mount>(std::string_view name)> find_mount;
    std::chrono::seconds session_timeout{60};
    // Digest auth of players; null: players are not authenticated (the allow-list only).
    std::shared_ptr<const rtsp::DigestServer> auth;
    metrics::Counter* auth_failures = nullptr;
    // Where mounts' multicast groups come from (no range: only mounts with a fixed group offer multicast).
    std::shared_ptr<multicast::MulticastAllocator> multicast;
    // The VOD cache (mount_vod.hpp); null: none. Cached mounts' players are served by serve's engine.
    std::shared_ptr<VodCache> vod;
};

class ProxyConnection : public server::RtspServerConnection,
                        public PlayerSink,
                        public server::InterleavedSink {
public:
    ProxyConnection(asio::ip::tcp::socket socket, std::shared_ptr<const ProxyConnectionContext> context);

    // The admin API: this connection's player sessions, and ending one of them ("ended by operator": an
    // RTCP BYE, then the connection closes once it is out). end_player is false without such a session.
    void append_players(std::vector<PlayerSnapshot>& out, Clock::time_point now) const;
    bool end_player(const std::string& id);

    // Interleaved media of mount players and of sessions served from the VOD cache.
    bool send_interleaved(std::uint8_t channel, std::span<const std::uint8_t> frame) override;
    bool send_interleaved_deferred(std::uint8_t channel, std::span<const std::uint8_t> frame) override;
    bool deferred_pending() const noexcept override { return RtspServerConnection::deferred_pending(); }
    void write_deferred() noexcept override { RtspServerConnection::write_deferred(); }
    void end_deferred() override { RtspServerConnection::end_deferred(); }
    void close_after_flush(std::string reason) override;

    static constexpr std::size_t k_max_queued_bytes = 2 * k_mib;
    static constexpr std::size_t k_max_sessions = 16;

private:
    asio::awaitable<rtsp::Response> handle(const rtsp::Request& request) override;
    std::size_t expire_sessions(Clock::time_point now, Clock::duration timeout) override;
    void on_interleaved(const rtsp::InterleavedFrame& frame) override;
    void on_interleaved_done() override;
    void on_closing(std::string_view reason) override;
    void on_replied() override;
    void on_close(std::string_view reason) override;

    asio::awaitable<rtsp::Response> handle_describe(const rtsp::Request& request);
    // The request goes to serve's engine playing a VOD cache recording (mount_vod.hpp).
    asio::awaitable<bool> for_cached_playback(const rtsp::Request& request);
    asio::awaitable<rtsp::Response> handle_setup(const rtsp::Request& request);
    rtsp::Response handle_play(const rtsp::Request& request, PlayerSession& session);
    rtsp::Response handle_session_request(const rtsp::Request& request);
    std::shared_ptr<PlayerSession> find_session(const rtsp::Request& request, int& status);
    // Nothing when the request may go on, else the 401 to send. `user` is the name this connection last
    // authenticated as with `auth` (player or publish credentials).
    std::optional<rtsp::Response> authenticate(const rtsp::Request& request, const rtsp::DigestServer& auth,
                                               std::string& user);

    // A UDP port pair for a SETUP of `role` ("player", "publisher"); nothing (logged) when none is free.
    std::optional<client::UdpPortPair> open_port_pair(std::string_view role);
    asio::ip::udp udp_family() const;
    // 200 with the Transport answer and the Session header; the session joins this connection's.
    rtsp::Response setup_reply(const std::shared_ptr<PlayerSession>& session,
                               const rtsp::TransportSpec& answer);
    void log_port_starved(std::string_view role, const std::string& error) const;

    // Publishing (publisher_session.hpp).
    bool is_publisher_request(const rtsp::Request& request) const;
    rtsp::Response handle_announce(const rtsp::Request& request);
    rtsp::Response handle_publisher_request(const rtsp::Request& request);
    rtsp::Response handle_record_setup(const rtsp::Request& request);
    void end_publishers(std::string_view reason);
    // Calls fn(PublisherSession&) for each publisher, safe against fn ending them all.
    template <typename Fn>
    void for_each_publisher(Fn&& fn);

    std::shared_ptr<const ProxyConnectionContext> context_;
    std::map<std::string, std::shared_ptr<PlayerSession>> sessions_;
    // Sessions ended by close_after_flush(), which may run inside their own deliver() or the mount's
    // fan-out loop: they stay allocated until the connection closes.
    std::vector<std::shared_ptr<PlayerSession>> retired_;
    std::string user_;  // the Digest user this connection last authenticated as
    // The publisher whose ANNOUNCE came and whose first SETUP has not: it holds the mount already.
    std::shared_ptr<PublisherSession> announced_;
    std::map<std::string, std::shared_ptr<PublisherSession>> publishers_;
    std::string publish_user_;                   // the Digest user this connection last published as
    std::shared_ptr<PlayerSession> join_burst_;  // its PLAY reply is being queued; its GOP burst follows
    // Sessions of VOD cache recordings, played by serve's engine; null without a cache.
    std::unique_ptr<server::FileSessions> cached_;
};

}  // namespace sg::proxy
