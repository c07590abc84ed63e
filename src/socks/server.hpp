#pragma once
// The SOCKS5 server: listeners, admission control and one coroutine per client session.

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <vector>

#include "common/result.hpp"
#include "net/accept_loop.hpp"
#include "net/cidr.hpp"

namespace sg::socks {

struct ServerOptions {
    // Client networks admitted. Empty means loopback only: the server is never an open proxy by default.
    std::vector<net::Cidr> allow;
    std::chrono::steady_clock::duration handshake_timeout = std::chrono::seconds{10};
    std::chrono::steady_clock::duration connect_timeout = std::chrono::seconds{10};
    std::chrono::steady_clock::duration idle_timeout = std::chrono::seconds{300};
};

struct ServerStats {
    std::atomic<std::uint64_t> sessions_started{0};
    std::atomic<std::uint64_t> sessions_refused{0};  // client not admitted by `allow`
    std::atomic<std::uint64_t> bytes_client_to_target{0};
    std::atomic<std::uint64_t> bytes_target_to_client{0};
    std::atomic<std::uint64_t> active{0};
};

class Server {
public:
    Server(asio::io_context& io, ServerOptions options);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Binds and starts accepting; returns the bound endpoint (useful with port 0).
    sg::Result<asio::ip::tcp::endpoint> listen(const asio::ip::tcp::endpoint& endpoint, std::string& error);

    // Stops accepting; running sessions continue (drain).
    void stop_accepting();
    // Ends every running session now (after a drain period expired).
    void close_sessions();

    std::uint64_t active_sessions() const noexcept;
    const ServerStats& stats() const noexcept;

    // Options, counters and the registry of live sessions. Session coroutines share ownership, so a session
    // frame destroyed after the Server (at io_context teardown) still finds valid state.
    struct Shared;

private:
    asio::io_context& io_;
    std::shared_ptr<Shared> shared_;
    std::list<asio::ip::tcp::acceptor> acceptors_;  // std::list: accept loops hold references
    std::list<net::AcceptCounters> accept_counters_;
};

}  // namespace sg::socks
