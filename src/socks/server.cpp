#include "socks/server.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
#include <iterator>

#include "metrics/registry.hpp"
#include "net/accept_loop.hpp"
#include "net/asio_endpoint.hpp"
#include "net/unhandled.hpp"
#include "socks/session.hpp"
#include "socks/udp_relay.hpp"

namespace sg::socks {

using asio::ip::tcp;

namespace {

constexpr const char* k_rejected_help =
    "Connections closed at accept, by reason (limit: a session limit was reached; not_allowed: the client is "
    "not in the allow-list)";

net::AdmissionLimits admission_limits(const ServerOptions& options) {
    return {options.max_sessions, options.max_sessions_per_client};
}

// Closes a session's sockets: its coroutine sees them fail, ends, and logs its session-end line. On the
// session's loop only.
void close_live(LiveSession& live) {
    asio::error_code ignored;
    if (live.client != nullptr) live.client->close(ignored);
    if (live.target != nullptr) live.target->close(ignored);
}

// The coroutines below run on the loop they read (co_spawned there); `shared` keeps the registry alive.
asio::awaitable<std::vector<SessionSnapshot>> snapshot_loop(
    [[maybe_unused]] std::shared_ptr<Server::Shared> shared, const LoopSessions& loop) {
    std::vector<SessionSnapshot> out;
    out.reserve(loop.live.size());
    const auto now = std::chrono::steady_clock::now();
    for (const auto& [id, live] : loop.live)
        out.push_back(session_snapshot(*live, now));
    co_return out;
}

asio::awaitable<bool> end_on_loop([[maybe_unused]] std::shared_ptr<Server::Shared> shared, LoopSessions& loop,
                                  std::uint64_t id) {
    const auto it = loop.live.find(id);
    if (it == loop.live.end()) co_return false;
    it->second->ended_by_operator = true;
    close_live(*it->second);
    co_return true;
}

}  // namespace

void Server::Shared::set_options(ServerOptions options) {
    admission.set_limits(admission_limits(options));
    auto fresh = std::make_shared<const ServerOptions>(std::move(options));
    const std::lock_guard lock(options_mutex);
    current_options = std::move(fresh);
}

Server::Server(asio::io_context& io, ServerOptions options, metrics::Registry* registry)
    : Server(std::vector<asio::io_context*>{&io}, std::move(options), registry) {}

Server::Server(std::vector<asio::io_context*> loops, ServerOptions options, metrics::Registry* registry)
    : loops_(std::move(loops)), shared_(std::make_shared<Shared>()) {
    for (auto* loop : loops_) {
        auto sessions = std::make_unique<LoopSessions>();
        sessions->io = loop;
        shared_->loops.push_back(std::move(sessions));
    }
    shared_->set_options(std::move(options));
    shared_->registry = registry;
    if (registry == nullptr) return;
    // The counters live in ServerStats (atomics the sessions bump); the registry reads them at scrape time.
    // The registry must not outlive the server (the gateway declares it first).
    const auto read = [](const std::atomic<std::uint64_t>& v) {
        return [&v] { return static_cast<double>(v.load()); };
    };
    const ServerStats& stats = shared_->stats;
    registry->gauge_callback("streamgate_socks_sessions_active", "SOCKS sessions running now",
                             read(stats.active));
    registry->counter_callback("streamgate_socks_sessions_started_total", "SOCKS sessions admitted at accept",
                               read(stats.sessions_started));
    registry->counter_callback("streamgate_socks_bytes_total",
                               "Bytes relayed between SOCKS clients and targets",
                               read(stats.bytes_client_to_target), {{"direction", "client_to_target"}});
    registry->counter_callback("streamgate_socks_bytes_total",
                               "Bytes relayed between SOCKS clients and targets",
                               read(stats.bytes_target_to_client), {{"direction", "target_to_client"}});
    const UdpRelayStats& udp = udp_relay_stats();
    registry->gauge_callback("streamgate_socks_udp_associations_active", "UDP associations existing now",
                             read(udp.live));
    registry->counter_callback("streamgate_socks_udp_datagrams_total", "UDP datagrams relayed",
                               read(udp.datagrams_up), {{"direction", "client_to_target"}});
    registry->counter_callback("streamgate_socks_udp_datagrams_total", "UDP datagrams relayed",
                               read(udp.datagrams_down), {{"direction", "target_to_client"}});
    const std::pair<const char*, const std::atomic<std::uint64_t>*> drops[] = {
        {"source", &udp.dropped_source},           {"fragment", &udp.dropped_fragment},
        {"bad_header", &udp.dropped_bad_header},   {"unresolved", &udp.dropped_unresolved},
        {"denied", &udp.dropped_denied},           {"unknown_peer", &udp.dropped_unknown_peer},
        {"send_failed", &udp.dropped_send_failed}, {"oversize", &udp.dropped_oversize}};
    for (const auto& [reason, counter] : drops) {
        registry->counter_callback("streamgate_socks_udp_dropped_total", "UDP datagrams dropped, by reason",
                                   read(*counter), {{"reason", reason}});
    }
    registry->counter_callback("streamgate_socks_connections_rejected_total", k_rejected_help,
                               read(stats.sessions_over_limit), {{"reason", "limit"}});
    registry->counter_callback("streamgate_socks_connections_rejected_total", k_rejected_help,
                               read(stats.refused_not_allowed), {{"reason", "not_allowed"}});
    registry->counter_callback("streamgate_socks_auth_attempts_total",
                               "RFC 1929 username/password requests whose credentials were checked",
                               read(stats.auth_attempts));
}

Server::~Server() {
    stop_accepting();
    close_sessions();
}

std::uint64_t Server::active_sessions() const noexcept {
    return shared_->stats.active.load();
}
const ServerStats& Server::stats() const noexcept {
    return shared_->stats;
}

sg::Result<tcp::endpoint> Server::listen(const tcp::endpoint& endpoint, std::string& error) {
    asio::error_code ec;
    tcp::acceptor acceptor = net::open_listener(*loops_.front(), endpoint, ec);
    if (ec) {
        error = ec.message();
        return sg::fail("cannot listen");
    }
    const auto bound = acceptor.local_endpoint();
    auto& acc = acceptors_.emplace_back(std::move(acceptor));
    auto& counters = accept_counters_.emplace_back();
    asio::co_spawn(*loops_.front(),
                   net::accept_loop(
                       acc, [this](tcp::socket socket) { admit(std::move(socket)); }, counters),
                   net::log_unhandled(net::Unhandled::accept_loop));
    return bound;
}

void Server::admit(tcp::socket socket) {
    asio::error_code ec;
    const auto peer = socket.remote_endpoint(ec);
    if (ec) return;  // the client is already gone
    const auto client = net::unmap(peer.address());
    // The allow-list before a byte is read: a client outside it never gets to try a password (Dante's
    // `client` rules work the same way).
    if (!net::allow_listed(shared_->options()->allow, client)) {
        shared_->stats.refused_not_allowed.fetch_add(1);
        shared_->not_allowed_log.info("socks: closing connection from {}: not in the allow-list",
                                      net::to_string(peer));
        socket.close(ec);
        return;
    }
    auto admitted = shared_->admission.admit(client);
    if (!admitted.slot) {
        shared_->stats.sessions_over_limit.fetch_add(1);
        shared_->limit_log.warn(
            "socks: closing connection from {}: {} ({} closed so far)", net::to_string(peer),
            admitted.verdict == net::Admission::Verdict::over_total ? "max_sessions reached"
                                                                    : "max_sessions_per_client reached",
            shared_->stats.sessions_over_limit.load());
        socket.close(ec);
        return;
    }
    LoopSessions& loop = *shared_->loops[next_loop_++ % shared_->loops.size()];
    socket = net::move_to_loop(std::move(socket), *loop.io, ec);
    if (ec) return;  // closed; the slot is given back with this scope
    // Sessions handle their own errors; an escaping exception is a bug, but it must end only that session,
    // never the server. co_spawn on the session's loop: the coroutine starts there, not here.
    asio::co_spawn(*loop.io, run_session(std::move(socket), shared_, loop, std::move(admitted.slot)),
                   net::log_unhandled(net::Unhandled::socks_session));
}

void Server::update_options(ServerOptions options) {
    shared_->set_options(std::move(options));
}

std::size_t Server::loop_count() const noexcept {
    return loops_.size();
}

void Server::stop_accepting() {
    for (auto& acceptor : acceptors_) {
        asio::error_code ignored;
        acceptor.close(ignored);
    }
}

void Server::close_sessions() {
    for (const auto& loop : shared_->loops) {
        asio::post(*loop->io, [shared = shared_, &sessions = *loop] {
            for (const auto& [id, live] : sessions.live)
                close_live(*live);
        });
    }
}

asio::awaitable<SessionPage> Server::sessions(std::size_t offset, std::size_t limit) const {
    std::vector<SessionSnapshot> all;
    for (const auto& loop : shared_->loops) {
        auto part = co_await asio::co_spawn(*loop->io, snapshot_loop(shared_, *loop), asio::use_awaitable);
        all.insert(all.end(), std::make_move_iterator(part.begin()), std::make_move_iterator(part.end()));
    }
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    SessionPage page;
    page.total = all.size();
    const auto first = std::min(offset, all.size());
    const auto last = first + std::min(limit, all.size() - first);
    page.sessions.assign(std::make_move_iterator(all.begin() + static_cast<std::ptrdiff_t>(first)),
                         std::make_move_iterator(all.begin() + static_cast<std::ptrdiff_t>(last)));
    co_return page;
}

asio::awaitable<bool> Server::end_session(std::uint64_t id) {
    for (const auto& loop : shared_->loops) {
        if (co_await asio::co_spawn(*loop->io, end_on_loop(shared_, *loop, id), asio::use_awaitable))
            co_return true;
    }
    co_return false;
}

}  // namespace sg::socks
