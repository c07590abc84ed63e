#pragma once
// One SOCKS5 client session, from greeting to the end of its relay.

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

#include "net/admission.hpp"
#include "net/rate_limited_log.hpp"
#include "net/relay.hpp"
#include "socks/server.hpp"

namespace sg::socks {

struct SessionRecord;

// A running session as seen from outside: its sockets, so that close_sessions() and end_session() can end
// it, and what session_snapshot() reads.
struct LiveSession {
    asio::ip::tcp::socket* client = nullptr;
    asio::ip::tcp::socket* target = nullptr;
    std::uint64_t id = 0;
    std::chrono::steady_clock::time_point started;
    const SessionRecord* record = nullptr;
    net::RelayProgress progress;     // bytes of the TCP relay running now, not yet added to the record
    bool ended_by_operator = false;  // end_session(): the session-end line says so
};

// What the admin API shows of a live session (`live` must be registered in Server::Shared::live).
SessionSnapshot session_snapshot(const LiveSession& live, std::chrono::steady_clock::time_point now);

// The sessions of one event loop. Touched only by that loop's thread: no lock.
struct LoopSessions {
    asio::io_context* io = nullptr;
    // By id, which grows: the admin API pages through the union of all loops in order.
    std::map<std::uint64_t, LiveSession*> live;
};

struct Server::Shared {
    // The options as of now. A session takes a snapshot at each step that reads them (handshake, connect,
    // relay), never per packet; a SIGHUP reload on another loop swaps them under the mutex.
    std::shared_ptr<const ServerOptions> options() const {
        const std::lock_guard lock(options_mutex);
        return current_options;
    }
    void set_options(ServerOptions options);

    mutable std::mutex options_mutex;
    std::shared_ptr<const ServerOptions> current_options;
    ServerStats stats;
    metrics::Registry* registry = nullptr;             // optional; outlives the server
    std::vector<std::unique_ptr<LoopSessions>> loops;  // fixed at construction
    std::atomic<std::uint64_t> next_id{1};
    // max_sessions and max_sessions_per_client; a session holds its slot from accept to its end.
    net::Admission admission;
    // Peer-triggered lines: refusals at accept, and the session-end lines of connections that never sent a
    // valid greeting (scanners, garbage). Real sessions' session-end lines are never throttled.
    net::RateLimitedLog limit_log{"socks: connections over a session limit"};
    net::RateLimitedLog not_allowed_log{"socks: connections from clients not in the allow-list"};
    net::RateLimitedLog garbage_log{"socks: connections without a valid greeting"};
};

// Runs on `loop`'s thread; `client` must belong to loop.io.
asio::awaitable<void> run_session(asio::ip::tcp::socket client, std::shared_ptr<Server::Shared> shared,
                                  LoopSessions& loop, net::Admission::Slot slot);

}  // namespace sg::socks
