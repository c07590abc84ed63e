#include "server/server.hpp"

#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/signal_set.hpp>
#include <list>

#include "metrics/admin_server.hpp"
#include "metrics/registry.hpp"
#include "net/accept_loop.hpp"
#include "net/asio_endpoint.hpp"
#include "server/rtsp_connection.hpp"

namespace sg::server {
namespace {

// Everything is read at scrape time from the context, which the same event loop thread updates.
void register_metrics(metrics::Registry& registry, const ServerContext& context,
                      const net::AcceptCounters& accepted) {
    const auto counter = [&registry](std::string_view name, std::string_view help,
                                     const std::uint64_t& value) {
        registry.counter_callback(name, help, [&value] { return static_cast<double>(value); });
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
                            [&context] { return static_cast<double>(context.connections_open); });
    registry.gauge_callback("streamgate_serve_sessions", "Live RTSP sessions", [&context] {
        return static_cast<double>(context.sessions_started - context.sessions_ended);
    });
    registry.counter_callback("streamgate_serve_accepted_total", "RTSP connections accepted",
                              [&accepted] { return static_cast<double>(accepted.accepted.load()); });
}

}  // namespace

int run_serve(const ServeConfig& config) {
    asio::io_context io;
    ServerContext context{config, UdpPortAllocator(config.rtp_port_first, config.rtp_port_last)};
    std::list<asio::ip::tcp::acceptor> acceptors;
    net::AcceptCounters counters;
    for (const auto& hp : config.listen) {
        const auto endpoint = net::to_tcp_endpoint(hp);
        if (!endpoint) {
            spdlog::error("serve: listen {}: {}", net::to_string(hp), endpoint.error());
            return 2;
        }
        std::error_code ec;
        auto& acceptor = acceptors.emplace_back(net::open_listener(io, *endpoint, ec));
        if (ec) {
            spdlog::error("serve: listen {}: {}", net::to_string(hp), ec.message());
            return 2;
        }
        spdlog::info("serving {} on rtsp://{}/", config.root.string(),
                     net::to_string(acceptor.local_endpoint()));
        asio::co_spawn(io,
                       net::accept_loop(
                           acceptor,
                           [&context](asio::ip::tcp::socket socket) {
                               std::error_code nodelay_ec;
                               socket.set_option(asio::ip::tcp::no_delay(true), nodelay_ec);
                               std::make_shared<RtspConnection>(std::move(socket), context)->start();
                           },
                           counters),
                       asio::detached);
    }
    metrics::Registry registry;
    register_metrics(registry, context, counters);
    metrics::AdminServer admin(io, registry);
    if (config.admin) {
        const auto endpoint = net::to_tcp_endpoint(*config.admin);
        std::string error;
        if (!endpoint || !admin.listen(*endpoint, error)) {
            spdlog::error("serve: admin {}: {}", net::to_string(*config.admin),
                          endpoint ? error : endpoint.error());
            return 2;
        }
    }
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const std::error_code&, int signal) {
        spdlog::info("serve: signal {}, stopping after {} sessions", signal, context.sessions_started);
        admin.stop();
        io.stop();
    });
    io.run();
    return 0;
}

}  // namespace sg::server
