#include "socks/server.hpp"

#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/ip/v6_only.hpp>

#include "metrics/registry.hpp"
#include "net/accept_loop.hpp"
#include "net/asio_endpoint.hpp"
#include "socks/session.hpp"
#include "socks/udp_relay.hpp"

namespace sg::socks {

using asio::ip::tcp;

Server::Server(asio::io_context& io, ServerOptions options, metrics::Registry* registry)
    : io_(io), shared_(std::make_shared<Shared>()) {
    shared_->options = std::move(options);
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
    registry->counter_callback("streamgate_socks_connections_rejected_total",
                               "Connections closed at accept because a session limit was reached",
                               read(stats.sessions_over_limit), {{"reason", "limit"}});
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
    tcp::acceptor acceptor = net::open_listener(io_, endpoint, ec);
    if (ec) {
        error = ec.message();
        return sg::fail("cannot listen");
    }
    const auto bound = acceptor.local_endpoint();
    auto& acc = acceptors_.emplace_back(std::move(acceptor));
    auto& counters = accept_counters_.emplace_back();
    asio::co_spawn(io_,
                   net::accept_loop(
                       acc, [this](tcp::socket socket) { admit(std::move(socket)); }, counters),
                   asio::detached);
    return bound;
}

void Server::admit(tcp::socket socket) {
    asio::error_code ec;
    const auto peer = socket.remote_endpoint(ec);
    if (ec) return;  // the client is already gone
    const auto client = net::unmap(peer.address());
    const ServerOptions& options = shared_->options;
    const auto per_client = shared_->sessions_per_client.find(client);
    const bool over_total = options.max_sessions != 0 && shared_->stats.active.load() >= options.max_sessions;
    const bool over_client = options.max_sessions_per_client != 0 &&
                             per_client != shared_->sessions_per_client.end() &&
                             per_client->second >= options.max_sessions_per_client;
    if (over_total || over_client) {
        shared_->stats.sessions_over_limit.fetch_add(1);
        // At most one line a second: a client hammering the limit must not flood the log.
        const auto now = std::chrono::steady_clock::now();
        if (now - shared_->last_limit_log >= std::chrono::seconds{1}) {
            shared_->last_limit_log = now;
            spdlog::warn("session limit reached ({}): closing connection from {} ({} closed so far)",
                         over_total ? "max_sessions" : "max_sessions_per_client", net::to_string(peer),
                         shared_->stats.sessions_over_limit.load());
        }
        socket.close(ec);
        return;
    }
    ClientSlot slot(shared_, client);
    asio::co_spawn(io_, run_session(std::move(socket), shared_, std::move(slot)),
                   [](const std::exception_ptr& e) {
                       // Sessions handle their own errors; an escaping exception is a bug, but it must end
                       // only that session, never the server.
                       if (!e) return;
                       try {
                           std::rethrow_exception(e);
                       } catch (const std::exception& ex) {
                           spdlog::error("session aborted by exception: {}", ex.what());
                       }
                   });
}

void Server::update_options(ServerOptions options) {
    shared_->options = std::move(options);
}

void Server::stop_accepting() {
    for (auto& acceptor : acceptors_) {
        asio::error_code ignored;
        acceptor.close(ignored);
    }
}

void Server::close_sessions() {
    for (LiveSession* live : shared_->live) {
        asio::error_code ignored;
        if (live->client != nullptr) live->client->close(ignored);
        if (live->target != nullptr) live->target->close(ignored);
    }
}

}  // namespace sg::socks
