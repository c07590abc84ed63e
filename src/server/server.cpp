#include "server/server.hpp"
#include "dashboard/dashboard.hpp"

#include <spdlog/spdlog.h>

#include <unistd.h>
#include <asio/co_spawn.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/post.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/thread_pool.hpp>
#include <chrono>
#include <functional>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

#include "metrics/admin_server.hpp"
#include "metrics/registry.hpp"
#include "net/accept_loop.hpp"
#include "net/asio_endpoint.hpp"
#include "net/descriptor_limit.hpp"
#include "net/poll_until.hpp"
#include "net/unhandled.hpp"
#include "server/rtsp_connection.hpp"
#include "tls/tls_context.hpp"

namespace sg::server {
namespace {

// Threads that open and probe files. Probes are few (the cache); opens are short and mostly wait for the
// disk.
constexpr unsigned k_blocking_threads = 2;

// Everything is read at scrape time from the context's atomics, which every event loop updates.
void register_metrics(metrics::Registry& registry, const ServerContext& context,
                      const net::AcceptCounters& accepted, const RtspListenerCaps& caps) {
    const auto counter = [&registry](std::string_view name, std::string_view help,
                                     const std::atomic<std::uint64_t>& value) {
        registry.counter_callback(name, help, [&value] { return static_cast<double>(value.load()); });
    };
    counter("streamgate_serve_sessions_started_total", "RTSP sessions created by SETUP",
            context.sessions_started);
    counter("streamgate_serve_sessions_ended_total", "RTSP sessions ended (teardown, timeout, disconnect)",
            context.sessions_ended);
    counter("streamgate_serve_sessions_timed_out_total", "RTSP sessions ended by the session timeout",
            context.sessions_timed_out);
    counter("streamgate_serve_rtp_packets_total", "RTP packets sent by ended sessions", context.rtp_packets);
    counter("streamgate_serve_rtp_bytes_total", "RTP octets sent by ended sessions", context.rtp_bytes);
    counter("streamgate_serve_dropped_total", "RTP/RTCP packets dropped (full socket or TCP queue)",
            context.dropped);
    counter("streamgate_serve_bad_requests_total", "Requests answered 400 or closed as malformed",
            context.bad_requests);
    registry.gauge_callback("streamgate_serve_connections", "Open RTSP connections",
                            [&context] { return static_cast<double>(context.connections_open.load()); });
    registry.gauge_callback("streamgate_serve_sessions", "Live RTSP sessions", [&context] {
        return static_cast<double>(context.sessions_started.load() - context.sessions_ended.load());
    });
    registry.counter_callback("streamgate_serve_probes_total",
                              "Media files probed (presentation cache misses)",
                              [&context] { return static_cast<double>(context.presentations.probes()); });
    registry.counter_callback("streamgate_serve_accepted_total", "RTSP connections accepted",
                              [&accepted] { return static_cast<double>(accepted.accepted.load()); });
    counter("streamgate_serve_connections_busy_total",
            "Connections answered 503 and closed: over max_connections or max_connections_per_client",
            caps.refused());
    counter("streamgate_serve_multicast_sessions_total",
            "RTSP sessions delivered by multicast (group members)", context.multicast.members_joined);
    counter("streamgate_serve_multicast_groups_started_total", "Multicast groups that started streaming",
            context.multicast.groups_started);
    registry.gauge_callback("streamgate_serve_multicast_groups", "Multicast groups streaming now",
                            [&context] {
                                return static_cast<double>(context.multicast.groups_started.load() -
                                                           context.multicast.groups_ended.load());
                            });
    counter("streamgate_serve_multicast_rtp_packets_total", "RTP packets sent to groups by ended groups",
            context.multicast.packets);
    counter("streamgate_serve_multicast_rtp_bytes_total", "RTP octets sent to groups by ended groups",
            context.multicast.bytes);
    metrics::register_process_metrics(registry);
}

// Moves an accepted socket to `loop` and starts its connection there; the connection never leaves it.
// `tls`: the RTSPS listener's context, or nullptr for plain RTSP.
void start_connection(asio::ip::tcp::socket socket, asio::io_context& loop, ServerContext& context,
                      net::Admission::Slot slot, asio::ssl::context* tls) {
    std::error_code ec;
    socket.set_option(asio::ip::tcp::no_delay(true), ec);
    socket = net::move_to_loop(std::move(socket), loop, ec);
    if (ec) return;
    asio::post(loop, [&context, socket = std::move(socket), slot = std::move(slot), tls]() mutable {
        const auto connection = std::make_shared<RtspConnection>(std::move(socket), context);
        connection->hold(std::move(slot));
        if (tls != nullptr) connection->use_tls(*tls);
        connection->allow_websocket_origins(context.config.websocket_origins);
        context.connections.add(connection);
        connection->start();
    });
}

}  // namespace

int run_serve(const ServeConfig& config) {
    // A UDP viewer holds its connection, its file and two sockets per track.
    net::raise_descriptor_limit("viewers", 4);
    // Declared first, destroyed last: connections and sessions left in the loops refer to it.
    ServerContext context{config, UdpPortAllocator(config.rtp_port_first, config.rtp_port_last),
                          PresentationCache(config.max_payload, config.mp2t),
                          MulticastRegistry(config.multicast)};
    // One event loop per thread. Loop 0 also runs the acceptors, the admin listener and the signals; each
    // accepted connection is handed to the next loop round-robin and lives there with all its sessions.
    // (One acceptor rather than one per loop with SO_REUSEPORT: the spread is even whatever the kernel's
    // hash does with few client addresses, port 0 and several --listen addresses work unchanged, and no
    // other process can join the port group.)
    const unsigned thread_count =
        config.threads != 0 ? config.threads : std::max(1U, std::thread::hardware_concurrency());
    std::vector<std::unique_ptr<asio::io_context>> loops;
    std::vector<asio::executor_work_guard<asio::io_context::executor_type>> keep_running;
    for (unsigned i = 0; i < thread_count; ++i) {
        loops.push_back(std::make_unique<asio::io_context>());
        keep_running.push_back(asio::make_work_guard(*loops.back()));
        // A timer makes the loop create its reactor (epoll, eventfd, timerfd) now rather than with its first
        // connection: the process's descriptors then change only with connections and sessions.
        const asio::steady_timer create_reactor(*loops.back());
    }
    asio::io_context& io = *loops.front();
    // Destroyed (joined) before the loops: its pending completions are bound to them.
    asio::thread_pool blocking(k_blocking_threads);
    context.blocking = &blocking;
    std::size_t next_loop = 0;
    std::list<asio::ip::tcp::acceptor> acceptors;
    net::AcceptCounters counters;
    RtspListenerCaps caps("serve", {config.max_connections, config.max_connections_per_client});
    std::shared_ptr<asio::ssl::context> tls;
    if (!config.tls_listen.empty()) {
        std::string error;
        tls = tls::make_server_context(config.tls_certificate, config.tls_key, error);
        if (!tls) {
            spdlog::error("serve: tls: {}", error);
            return 2;
        }
    }
    const auto listen = [&](const net::HostPort& hp, asio::ssl::context* tls_context) {
        const auto endpoint = net::to_tcp_endpoint(hp);
        if (!endpoint) {
            spdlog::error("serve: listen {}: {}", net::to_string(hp), endpoint.error());
            return false;
        }
        std::error_code ec;
        auto& acceptor = acceptors.emplace_back(net::open_listener(io, *endpoint, ec));
        if (ec) {
            spdlog::error("serve: listen {}: {}", net::to_string(hp), ec.message());
            return false;
        }
        spdlog::info("serving {} on {}://{}/", config.root.string(),
                     tls_context != nullptr ? "rtsps" : "rtsp", net::to_string(acceptor.local_endpoint()));
        asio::co_spawn(io,
                       net::accept_loop(
                           acceptor,
                           [&context, &loops, &next_loop, &caps, tls_context](asio::ip::tcp::socket socket) {
                               auto slot =
                                   caps.admit(socket, /*answer_in_plain_text=*/tls_context == nullptr);
                               if (!slot) return;  // answered 503, closed (or already gone)
                               start_connection(std::move(socket), *loops[next_loop++ % loops.size()],
                                                context, std::move(slot), tls_context);
                           },
                           counters),
                       net::log_unhandled(net::Unhandled::accept_loop));
        return true;
    };
    for (const auto& hp : config.listen)
        if (!listen(hp, nullptr)) return 2;
    for (const auto& hp : config.tls_listen)
        if (!listen(hp, tls.get())) return 2;
    metrics::Registry registry;
    register_metrics(registry, context, counters, caps);
    metrics::AdminServer admin(io, registry);
    dashboard::add_dashboard(admin);  // the web page at /
    if (config.admin) {
        const auto endpoint = net::to_tcp_endpoint(*config.admin);
        std::string error;
        if (!endpoint || !admin.listen(*endpoint, error)) {
            spdlog::error("serve: admin {}: {}", net::to_string(*config.admin),
                          endpoint ? error : endpoint.error());
            return 2;
        }
    }
    // On SIGINT/SIGTERM: no new connections; every open one is closed on its own loop, which ends its
    // sessions with their log lines; the loops stop once they are all gone (k_close_grace at most).
    constexpr auto k_close_grace = std::chrono::seconds(2);
    asio::signal_set signals(io, SIGINT, SIGTERM);
    asio::steady_timer closing(io);
    const auto stop_loops = [&loops] {
        for (auto& loop : loops)
            loop->stop();
    };
    signals.async_wait([&](const std::error_code& ec, int signal) {
        if (ec) return;
        spdlog::info("serve: signal {}, stopping after {} sessions; closing {} connections", signal,
                     context.sessions_started.load(), context.connections_open.load());
        admin.stop();
        for (auto& acceptor : acceptors) {
            std::error_code ignored;
            acceptor.close(ignored);
        }
        for (const auto& connection : context.connections.take())
            asio::post(connection->executor(), [connection] { connection->close("server stopping"); });
        const auto deadline = std::chrono::steady_clock::now() + k_close_grace;
        net::poll_until(
            closing, std::chrono::milliseconds(20),
            [&context, deadline] {
                return context.connections_open.load() == 0 || std::chrono::steady_clock::now() >= deadline;
            },
            [&] {
                if (const auto open = context.connections_open.load(); open != 0)
                    spdlog::warn("serve: {} connections did not close within {}s; stopping anyway", open,
                                 k_close_grace.count());
                stop_loops();
            });
    });
    spdlog::info("serve: {} event loops", loops.size());
    std::vector<std::thread> threads;
    for (std::size_t i = 1; i < loops.size(); ++i)
        threads.emplace_back([&loop = *loops[i]] { loop.run(); });
    io.run();
    for (auto& thread : threads)
        thread.join();
    // Multicast groups are owned by the registry, their sockets by the loops: drop them while both exist.
    context.multicast.clear();
    return 0;
}

}  // namespace sg::server
