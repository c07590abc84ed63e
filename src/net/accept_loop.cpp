#include "net/accept_loop.hpp"

#include <spdlog/spdlog.h>

#include <asio/ip/v6_only.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>

#include <unistd.h>

#include "net/asio_endpoint.hpp"

namespace sg::net {

asio::ip::tcp::socket move_to_loop(asio::ip::tcp::socket socket, asio::io_context& loop,
                                   asio::error_code& ec) {
    ec.clear();
    if (&loop == &socket.get_executor().context()) return socket;
    const auto protocol = socket.local_endpoint(ec).protocol();
    if (ec) return asio::ip::tcp::socket(loop);  // `socket` closes with this scope
    const int native = socket.release(ec);
    if (ec) return asio::ip::tcp::socket(loop);
    asio::ip::tcp::socket moved(loop);
    moved.assign(protocol, native, ec);
    if (ec) ::close(native);
    return moved;
}

asio::ip::tcp::acceptor open_listener(asio::io_context& io, const asio::ip::tcp::endpoint& endpoint,
                                      asio::error_code& ec) {
    asio::ip::tcp::acceptor acceptor(io);
    ec.clear();
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
    if (!ec && endpoint.address().is_v6()) acceptor.set_option(asio::ip::v6_only(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        asio::error_code ignored;
        acceptor.close(ignored);
    }
    return acceptor;
}
namespace {

bool is_resource_exhaustion(const asio::error_code& ec) {
    return ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
           ec == asio::error::no_memory || ec == std::errc::too_many_files_open_in_system;
}

}  // namespace

asio::awaitable<void> accept_loop(asio::ip::tcp::acceptor& acceptor, AcceptHandler on_accept,
                                  AcceptCounters& counters) {
    using namespace std::chrono_literals;
    constexpr auto k_min_backoff = 10ms;
    constexpr auto k_max_backoff = 1000ms;
    auto backoff = std::chrono::milliseconds{0};
    asio::steady_timer timer(co_await asio::this_coro::executor);

    while (acceptor.is_open()) {
        asio::error_code ec;
        asio::ip::tcp::socket socket =
            co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (!ec) {
            if (backoff.count() != 0) {
                spdlog::info("listener {}: accepting again", to_string(acceptor.local_endpoint()));
                backoff = {};
            }
            counters.accepted.fetch_add(1, std::memory_order_relaxed);
            on_accept(std::move(socket));
            continue;
        }
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) break;
        if (is_resource_exhaustion(ec)) {
            counters.resource_errors.fetch_add(1, std::memory_order_relaxed);
            // Log on entering the back-off state only: a flood must not become a flood of log lines.
            if (backoff.count() == 0) spdlog::warn("accept failed ({}); backing off", ec.message());
            backoff = backoff.count() == 0 ? k_min_backoff : std::min(backoff * 2, k_max_backoff);
        } else {
            // Per-connection failures (e.g. the peer reset before we accepted): not our problem, keep going.
            spdlog::debug("accept: {}", ec.message());
            continue;
        }
        timer.expires_after(backoff);
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (ec == asio::error::operation_aborted) break;
    }
}

}  // namespace sg::net
