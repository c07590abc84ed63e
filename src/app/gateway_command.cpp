#include "app/gateway_command.hpp"

#include <spdlog/spdlog.h>

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <functional>

#include "net/asio_endpoint.hpp"
#include "socks/server.hpp"

namespace sg::app {

int run_gateway(const GatewayConfig& config) {
    asio::io_context io(1);
    socks::ServerOptions options;
    options.handshake_timeout = config.handshake_timeout;
    options.connect_timeout = config.connect_timeout;
    options.idle_timeout = config.idle_timeout;
    options.allow = config.allow;
    socks::Server server(io, options);

    std::size_t listening = 0;
    for (const auto& hp : config.socks_listeners) {
        const auto endpoint = net::to_tcp_endpoint(hp);
        if (!endpoint) {
            spdlog::error("socks listener {}: {}", net::to_string(hp), endpoint.error());
            return 2;
        }
        std::string error;
        const auto bound = server.listen(*endpoint, error);
        if (!bound) {
            // One family may be missing on this host (e.g. IPv6 disabled): serve on the others.
            spdlog::warn("socks listener {}: {}", net::to_string(hp), error);
            continue;
        }
        spdlog::info("socks5 listening on {}", net::to_string(*bound));
        ++listening;
    }
    if (listening == 0) {
        spdlog::error("no SOCKS listener could be opened");
        return 1;
    }
    if (config.allow.empty()) {
        spdlog::info("admitting loopback clients only");
    } else {
        for (const auto& cidr : config.allow)
            spdlog::info("admitting clients from {}", cidr.to_string());
    }

    // First signal: stop accepting and drain; second signal or the drain deadline: close what is left.
    asio::signal_set signals(io, SIGINT, SIGTERM);
    asio::steady_timer drain_timer(io);
    bool draining = false;
    std::function<void(const asio::error_code&, int)> on_signal = [&](const asio::error_code& ec, int signo) {
        if (ec) return;
        if (draining) {
            spdlog::info("signal {} again: closing {} sessions now", signo, server.active_sessions());
            server.close_sessions();
            io.stop();
            return;
        }
        draining = true;
        spdlog::info("signal {}: stopped accepting; draining {} sessions (up to {}s)", signo,
                     server.active_sessions(), config.drain_timeout.count());
        server.stop_accepting();
        signals.async_wait(on_signal);
        drain_timer.expires_after(config.drain_timeout);
        drain_timer.async_wait([&](const asio::error_code& timer_ec) {
            if (timer_ec) return;
            spdlog::info("drain period over: closing {} sessions", server.active_sessions());
            server.close_sessions();
            io.stop();
        });
    };
    signals.async_wait(on_signal);

    // Poll for the end of the drain: the io_context would otherwise keep running on the timer alone.
    asio::steady_timer idle_check(io);
    std::function<void(const asio::error_code&)> check = [&](const asio::error_code& ec) {
        if (ec) return;
        if (draining && server.active_sessions() == 0) {
            io.stop();
            return;
        }
        idle_check.expires_after(std::chrono::milliseconds(100));
        idle_check.async_wait(check);
    };
    idle_check.expires_after(std::chrono::milliseconds(100));
    idle_check.async_wait(check);

    io.run();
    spdlog::info("gateway stopped");
    return 0;
}

}  // namespace sg::app
