#include "echo_sink.hpp"

#include <algorithm>
#include <array>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cstdint>
#include <cstdio>

#include "tunnel.hpp"

namespace sg::bench {
namespace {

using asio::ip::tcp;
constexpr auto k_use = asio::experimental::as_tuple(asio::use_awaitable);

asio::awaitable<void> echo(tcp::socket socket) {
    // Small on purpose: the sink holds 10,000 connections and only ever echoes probes.
    std::array<std::uint8_t, 512> buffer;
    for (;;) {
        auto [read_ec, n] = co_await socket.async_read_some(asio::buffer(buffer), k_use);
        if (read_ec) break;
        auto [write_ec, written] = co_await asio::async_write(socket, asio::buffer(buffer.data(), n), k_use);
        if (write_ec) break;
        // Closing first keeps TIME_WAIT here, off the proxy's ephemeral ports (see close_from_far_side).
        if (std::find(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(n), k_close_request) !=
            buffer.begin() + static_cast<std::ptrdiff_t>(n))
            break;
    }
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor) {
    asio::steady_timer backoff(acceptor.get_executor());
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(k_use);
        if (ec == asio::error::operation_aborted) co_return;
        if (ec) {
            // Out of descriptors: wait for some to close instead of spinning on the ready listener.
            backoff.expires_after(std::chrono::milliseconds(10));
            co_await backoff.async_wait(k_use);
            continue;
        }
        asio::co_spawn(acceptor.get_executor(), echo(std::move(socket)), asio::detached);
    }
}

}  // namespace

int run_echo_sink(const tcp::endpoint& listen, std::chrono::seconds max_time) {
    asio::io_context io(1);
    tcp::acceptor acceptor(io);
    asio::error_code ec;
    acceptor.open(listen.protocol(), ec);
    if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor.bind(listen, ec);
    if (!ec) acceptor.listen(4096, ec);
    if (ec) {
        std::fprintf(stderr, "socks_load sink: cannot listen: %s\n", ec.message().c_str());
        return 1;
    }
    const auto bound = acceptor.local_endpoint(ec);
    std::printf("listening %s:%u\n", bound.address().to_string().c_str(), unsigned{bound.port()});
    std::fflush(stdout);

    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&io](const asio::error_code&, int) { io.stop(); });
    asio::steady_timer deadline(io);
    deadline.expires_after(max_time);
    deadline.async_wait([&io](const asio::error_code& timer_ec) {
        if (!timer_ec) io.stop();
    });
    asio::co_spawn(io, accept_loop(acceptor), asio::detached);
    io.run();
    return 0;
}

}  // namespace sg::bench
