#pragma once
// The SOCKS5 server: listeners, admission control and one coroutine per client session.

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

class Server {
public:
    // With a registry, the server exports its counters (sessions by command and REP, bytes, refusals).
    Server(asio::io_context& io, ServerOptions options, metrics::Registry* registry = nullptr);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Binds and starts accepting; returns the bound endpoint (useful with port 0).
    sg::Result<asio::ip::tcp::endpoint> listen(const asio::ip::tcp::endpoint& endpoint, std::string& error);

    // Replaces the options (allow-list, rules, users, timeouts, limits) for new sessions and the later steps
    // of running ones; listeners and established relays are untouched (SIGHUP reload).
    void update_options(ServerOptions options);

    // Stops accepting; running sessions continue (drain).
    void stop_accepting();
    // Ends every running session now (after a drain period expired).
    void close_sessions();

    // The running sessions in id order (oldest first), `limit` of them from `offset`. Call it on the
    // io_context's thread.
    SessionPage sessions(std::size_t offset, std::size_t limit) const;
    // Ends session `id` now (its sockets closed; its session-end line says "ended by operator"); false when
    // no such session runs. Call it on the io_context's thread.
    bool end_session(std::uint64_t id);

    std::uint64_t active_sessions() const noexcept;
    const ServerStats& stats() const noexcept;

    // Options, counters and the registry of live sessions. Session coroutines share ownership, so a session
    // frame destroyed after the Server (at io_context teardown) still finds valid state.
    struct Shared;

private:
    void admit(asio::ip::tcp::socket socket);

    asio::io_context& io_;
    std::shared_ptr<Shared> shared_;
    std::list<asio::ip::tcp::acceptor> acceptors_;  // std::list: accept loops hold references
    std::list<net::AcceptCounters> accept_counters_;
};

}  // namespace sg::socks
