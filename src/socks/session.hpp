#pragma once
// One SOCKS5 client session, from greeting to the end of its relay.

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <memory>
#include <set>

#include "net/admission.hpp"
#include "net/rate_limited_log.hpp"
#include "socks/server.hpp"

namespace sg::socks {

// Sockets of a running session, so that close_sessions() can end it from outside.
struct LiveSession {
    asio::ip::tcp::socket* client = nullptr;
    asio::ip::tcp::socket* target = nullptr;
};

struct Server::Shared {
    ServerOptions options;
    ServerStats stats;
    metrics::Registry* registry = nullptr;  // optional; outlives the server
    // Touched only from the io_context's thread:
    std::set<LiveSession*> live;
    // max_sessions and max_sessions_per_client; a session holds its slot from accept to its end.
    net::Admission admission;
    // Peer-triggered lines: refusals at accept, and the session-end lines of connections that never sent a
    // valid greeting (scanners, garbage). Real sessions' session-end lines are never throttled.
    net::RateLimitedLog limit_log{"socks: connections over a session limit"};
    net::RateLimitedLog not_allowed_log{"socks: connections from clients not in the allow-list"};
    net::RateLimitedLog garbage_log{"socks: connections without a valid greeting"};
};

asio::awaitable<void> run_session(asio::ip::tcp::socket client, std::shared_ptr<Server::Shared> shared,
                                  net::Admission::Slot slot);

}  // namespace sg::socks
