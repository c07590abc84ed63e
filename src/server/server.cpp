#include "server/server.hpp"

#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/signal_set.hpp>
#include <list>

#include "net/accept_loop.hpp"
#include "net/asio_endpoint.hpp"
#include "server/rtsp_connection.hpp"

namespace sg::server {

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
        auto& acceptor = acceptors.emplace_back(io);
        std::error_code ec;
        acceptor.open(endpoint->protocol(), ec);
        if (!ec) acceptor.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
        if (!ec && endpoint->address().is_v6()) acceptor.set_option(asio::ip::v6_only(true), ec);
        if (!ec) acceptor.bind(*endpoint, ec);
        if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
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
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const std::error_code&, int signal) {
        spdlog::info("serve: signal {}, stopping after {} sessions", signal, context.sessions_started);
        io.stop();
    });
    io.run();
    return 0;
}

}  // namespace sg::server
