#include "socks/connector.hpp"

#include <algorithm>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ip/address.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <vector>

#include "net/asio_endpoint.hpp"

namespace sg::socks {
namespace {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto k_use = asio::experimental::as_tuple(asio::use_awaitable);

asio::awaitable<void> sleep_until(Clock::time_point deadline) {
    asio::steady_timer timer(co_await asio::this_coro::executor, deadline);
    co_await timer.async_wait(k_use);
}

// The candidate endpoints for a target, IPv6 first (RFC 6724's default preference).
asio::awaitable<std::vector<tcp::endpoint>> candidates(const Address& target, Clock::time_point deadline,
                                                       asio::error_code& ec) {
    using namespace asio::experimental::awaitable_operators;
    std::vector<tcp::endpoint> out;
    if (target.is_ipv4()) {
        out.emplace_back(asio::ip::address_v4(target.ipv4()), target.port());
        co_return out;
    }
    if (target.is_ipv6()) {
        out.emplace_back(asio::ip::address_v6(target.ipv6()), target.port());
        co_return out;
    }
    // Named locals, not temporaries: g++ 12 mishandles temporaries that live across a co_await.
    const auto executor = co_await asio::this_coro::executor;
    tcp::resolver resolver(executor);
    const std::string host(target.domain());
    const std::string service = std::to_string(target.port());
    auto result = co_await (resolver.async_resolve(host, service, tcp::resolver::numeric_service, k_use) ||
                            sleep_until(deadline));
    if (result.index() == 1) {
        ec = asio::error::timed_out;
        co_return out;
    }
    auto [resolve_ec, results] = std::get<0>(std::move(result));
    ec = resolve_ec;
    for (const auto& entry : results)
        out.push_back(entry.endpoint());
    std::stable_partition(out.begin(), out.end(), [](const tcp::endpoint& e) { return e.address().is_v6(); });
    co_return out;
}

}  // namespace

Reply reply_for(const asio::error_code& ec) noexcept {
    if (ec == asio::error::connection_refused) return Reply::connection_refused;
    if (ec == asio::error::network_unreachable || ec == asio::error::address_family_not_supported) {
        return Reply::network_unreachable;
    }
    if (ec == asio::error::host_unreachable || ec == asio::error::timed_out ||
        ec == asio::error::host_not_found || ec == asio::error::host_not_found_try_again ||
        ec == asio::error::no_data) {
        return Reply::host_unreachable;
    }
    return Reply::general_failure;
}

asio::awaitable<ConnectOutcome> connect_to(const Address& target, Clock::duration timeout) {
    using namespace asio::experimental::awaitable_operators;
    const auto deadline = Clock::now() + timeout;
    const auto executor = co_await asio::this_coro::executor;
    ConnectOutcome out{Reply::general_failure, tcp::socket(executor), {}, {}};
    asio::error_code ec;
    const auto endpoints = co_await candidates(target, deadline, ec);
    if (endpoints.empty()) {
        if (!ec) ec = asio::error::host_not_found;
        out.reply = reply_for(ec);
        out.error = "resolve: " + ec.message();
        co_return out;
    }
    for (const auto& endpoint : endpoints) {
        out.resolved = net::to_string(endpoint);
        out.socket = tcp::socket(executor);
        auto result = co_await (out.socket.async_connect(endpoint, k_use) || sleep_until(deadline));
        ec = result.index() == 0 ? std::get<0>(std::get<0>(result)) : asio::error::timed_out;
        if (!ec) {
            out.reply = Reply::succeeded;
            asio::error_code ignored;
            out.socket.set_option(tcp::no_delay(true),
                                  ignored);  // relayed RTSP/RTP must not be Nagle-delayed
            co_return out;
        }
        out.error = "connect " + out.resolved + ": " + ec.message();
        if (Clock::now() >= deadline) break;
    }
    out.reply = reply_for(ec);
    asio::error_code ignored;
    out.socket.close(ignored);
    co_return out;
}

}  // namespace sg::socks
