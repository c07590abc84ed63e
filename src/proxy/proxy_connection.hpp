#pragma once
// One player's RTSP control connection to the proxy listener: OPTIONS, DESCRIBE (the mount's SDP for this
// player), SETUP over UDP or interleaved TCP whatever the upstream uses, PLAY, PAUSE, TEARDOWN and the
// GET/SET_PARAMETER keep-alive, with the status codes of `streamgate serve` (404 unknown mount, 454 unknown
// session, 455 wrong state, 461 unsupported transport, 502 upstream unavailable). A reader coroutine, a
// writer draining a bounded queue (a slow TCP player loses its own packets), and a once-a-second timeout
// check.

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
#include "proxy/player_session.hpp"
#include "rtsp/digest_server.hpp"
#include "rtsp/message.hpp"

namespace sg::proxy {

class Mount;

struct ProxyConnectionContext {
    std::function<std::shared_ptr<Mount>(std::string_view name)> find_mount;
    std::chrono::seconds session_timeout{60};
    // Digest auth of players; null: players are not authenticated (the allow-list only).
    std::shared_ptr<const rtsp::DigestServer> auth;
    metrics::Counter* auth_failures = nullptr;
};

class ProxyConnection : public PlayerSink, public std::enable_shared_from_this<ProxyConnection> {
public:
    ProxyConnection(asio::ip::tcp::socket socket, std::shared_ptr<const ProxyConnectionContext> context);
    void start();
    // Gateway shutdown.
    void close(std::string_view reason);

    bool send_interleaved(std::uint8_t channel, std::span<const std::uint8_t> frame) override;
    void close_after_flush(std::string reason) override;

    static constexpr std::size_t k_max_queued_bytes = 2 * k_mib;
    static constexpr std::size_t k_max_sessions = 16;

private:
    asio::awaitable<void> read_loop();
    asio::awaitable<void> write_loop();
    asio::awaitable<void> check_timeouts();
    void queue(std::vector<std::uint8_t> bytes);
    void end_session(PlayerSession& session, std::string_view reason);

    asio::awaitable<rtsp::Response> handle(const rtsp::Request& request);
    asio::awaitable<rtsp::Response> handle_describe(const rtsp::Request& request);
    asio::awaitable<rtsp::Response> handle_setup(const rtsp::Request& request);
    rtsp::Response handle_play(const rtsp::Request& request, PlayerSession& session);
    rtsp::Response handle_session_request(const rtsp::Request& request);
    std::shared_ptr<PlayerSession> find_session(const rtsp::Request& request, int& status);
    // With player auth on: nothing when the request may go on, else the 401 to send.
    std::optional<rtsp::Response> authenticate(const rtsp::Request& request);

    asio::ip::tcp::socket socket_;
    std::shared_ptr<const ProxyConnectionContext> context_;
    std::string peer_;
    asio::ip::address local_address_;
    asio::ip::address peer_address_;
    std::deque<std::vector<std::uint8_t>> out_;
    std::size_t queued_bytes_ = 0;
    asio::steady_timer wake_writer_;
    asio::steady_timer tick_;
    bool open_ = true;
    bool close_when_flushed_ = false;
    std::string close_reason_;
    std::map<std::string, std::shared_ptr<PlayerSession>> sessions_;
    // Sessions ended by close_after_flush(), which may run inside their own deliver() or the mount's
    // fan-out loop: they stay allocated until the connection closes.
    std::vector<std::shared_ptr<PlayerSession>> retired_;
    std::chrono::steady_clock::time_point last_request_ = std::chrono::steady_clock::now();
    std::string user_;  // the Digest user this connection last authenticated as
};

}  // namespace sg::proxy
