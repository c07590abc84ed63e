#pragma once
// The SOCKS5 server: listeners, admission control and one coroutine per client session.

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "net/accept_loop.hpp"
#include "net/cidr.hpp"
#include "socks/connector.hpp"
#include "socks/credentials.hpp"
#include "socks/rules.hpp"

namespace sg::metrics {
class Registry;
}
namespace sg::alg {
class RtspAlg;
}

namespace sg::socks {

struct ServerOptions {
    // Client networks admitted, checked at accept before a byte is read. Empty means loopback only: the
    // server is never an open proxy by default.
    std::vector<net::Cidr> allow;
    std::chrono::steady_clock::duration handshake_timeout = std::chrono::seconds{10};
    std::chrono::steady_clock::duration connect_timeout = std::chrono::seconds{10};
    std::chrono::steady_clock::duration idle_timeout = std::chrono::seconds{300};
    FamilyPolicy family_policy = FamilyPolicy::any;  // which address families CONNECT may use
    // Sessions beyond these limits are closed right after accept (0 = no limit). Every session holds at least
    // two descriptors, so the process's RLIMIT_NOFILE is the other, harder limit.
    std::uint32_t max_sessions = 65536;
    std::uint32_t max_sessions_per_client = 0;
    // UDP ASSOCIATE requests beyond this many live associations get REP 0x01 (0 = no limit).
    std::uint32_t max_udp_associations = 4096;
    // RFC 1929 accounts; when there are any, method 0x00 (no authentication) is refused.
    std::shared_ptr<const Credentials> users;
    // Access rules checked on each request (first match wins, default deny); none: the allow-list decides.
    std::shared_ptr<const RuleSet> rules;
    // The RTSP application-level gateway for CONNECT sessions that carry RTSP (proxy/rtsp_alg.hpp); none:
    // every CONNECT is a plain relay.
    std::shared_ptr<alg::RtspAlg> rtsp_alg;
};

struct ServerStats {
    std::atomic<std::uint64_t> sessions_started{0};
    std::atomic<std::uint64_t> sessions_over_limit{0};  // closed at accept: max_sessions(_per_client)
    std::atomic<std::uint64_t> refused_not_allowed{0};  // closed at accept: client not in the allow-list
    std::atomic<std::uint64_t> auth_attempts{0};        // RFC 1929 requests whose credentials were checked
    std::atomic<std::uint64_t> bytes_client_to_target{0};
    std::atomic<std::uint64_t> bytes_target_to_client{0};
    std::atomic<std::uint64_t> active{0};
};

// One running session as the admin API lists it. Bytes include what the running TCP relay moved so far
// (the RTSP ALG's control bytes and UDP payload are added when those end).
struct SessionSnapshot {
    std::uint64_t id = 0;
    std::string client;
    std::string user;     // "-" without RFC 1929
    std::string command;  // "connect", "bind", "udp_associate"; "-" during the handshake
    std::string target;   // as the client named it; "-" during the handshake
    std::string resolved;
    std::uint64_t bytes_up = 0;  // client -> target
    std::uint64_t bytes_down = 0;
    std::chrono::steady_clock::duration age{};
};

struct SessionPage {
    std::size_t total = 0;  // sessions running now
    std::vector<SessionSnapshot> sessions;
};

// Threading: the server runs on one or more event loops (io_contexts), each run by exactly one thread.
// loops[0] runs the acceptors; every accepted connection is handed to the next loop round robin and its
// session lives there with everything it owns (relay, UDP association, ALG media relays). Each loop keeps
// its own registry of live sessions, touched only by its thread, so nothing on the per-packet path takes a
// lock. What is shared (options, admission counts, counters, rate-limited logs) is thread-safe; the admin
// calls (sessions, end_session) visit each loop on its own thread.
//
// Round robin from one acceptor rather than one SO_REUSEPORT acceptor per loop: the kernel spreads
// SO_REUSEPORT connections by a hash of the 4-tuple, so a few connections (4 bulk streams from one client)
// can land on one loop and leave a core idle, while round robin puts 4 streams on 2 loops 2 and 2; port 0
// and several listen addresses also work unchanged. The cost is one epoll deregistration and registration
// per accepted connection (serve does the same, see net::move_to_loop).
class Server {
public:
    // One loop. With a registry, the server exports its counters (sessions by command and REP, bytes,
    // refusals).
    Server(asio::io_context& io, ServerOptions options, metrics::Registry* registry = nullptr);
    // Sessions spread over `loops` (at least one; they must outlive the server's sessions).
    Server(std::vector<asio::io_context*> loops, ServerOptions options,
           metrics::Registry* registry = nullptr);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Binds and starts accepting; returns the bound endpoint (useful with port 0).
    sg::Result<asio::ip::tcp::endpoint> listen(const asio::ip::tcp::endpoint& endpoint, std::string& error);

    // Replaces the options (allow-list, rules, users, timeouts, limits) for new sessions and the later steps
    // of running ones; listeners and established relays are untouched (SIGHUP reload).
    void update_options(ServerOptions options);

    // Stops accepting; running sessions continue (drain). Call it on loops[0]'s thread (or with the loops
    // stopped).
    void stop_accepting();
    // Ends every running session: posts the close to each loop, so it is safe from any thread.
    void close_sessions();

    // The running sessions in id order (oldest first), `limit` of them from `offset`. Visits every loop on
    // its own thread; the loops must be running.
    asio::awaitable<SessionPage> sessions(std::size_t offset, std::size_t limit) const;
    // Ends session `id` on its own loop (its sockets closed; its session-end line says "ended by
    // operator"); false when no such session runs.
    asio::awaitable<bool> end_session(std::uint64_t id);

    std::size_t loop_count() const noexcept;

    std::uint64_t active_sessions() const noexcept;
    const ServerStats& stats() const noexcept;

    // Options, counters and the registry of live sessions. Session coroutines share ownership, so a session
    // frame destroyed after the Server (at io_context teardown) still finds valid state.
    struct Shared;

private:
    void admit(asio::ip::tcp::socket socket);

    std::vector<asio::io_context*> loops_;
    std::size_t next_loop_ = 0;  // round robin; touched only by loops[0]'s accept loops
    std::shared_ptr<Shared> shared_;
    std::list<asio::ip::tcp::acceptor> acceptors_;  // std::list: accept loops hold references
    std::list<net::AcceptCounters> accept_counters_;
};

}  // namespace sg::socks
