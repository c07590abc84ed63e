#include "tunnel.hpp"

#include <array>
#include <asio/experimental/as_tuple.hpp>
#include <asio/read.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "socks5/socks5.hpp"

namespace sg::bench {
namespace {

using asio::ip::tcp;
constexpr auto k_use = asio::experimental::as_tuple(asio::use_awaitable);

socks::Address to_socks_address(const tcp::endpoint& endpoint) {
    const auto address = endpoint.address();
    if (address.is_v4()) return socks::Address::from_ipv4(address.to_v4().to_bytes(), endpoint.port());
    return socks::Address::from_ipv6(address.to_v6().to_bytes(), endpoint.port());
}

// Reads until `parse` is done with the front of `buffer`, then removes the parsed bytes: a reply that
// arrived together with the method selection stays for the next parse.
template <class Parse>
asio::awaitable<bool> read_parsed(tcp::socket& socket, std::vector<std::uint8_t>& buffer, Parse parse) {
    std::array<std::uint8_t, 64> chunk;
    for (;;) {
        auto result = parse(Bytes(buffer));
        if (result.done()) {
            buffer.erase(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(result.consumed));
            co_return true;
        }
        if (result.failed() || buffer.size() > socks::k_max_request_size) co_return false;
        auto [ec, n] = co_await socket.async_read_some(asio::buffer(chunk), k_use);
        if (ec) co_return false;
        buffer.insert(buffer.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
    }
}

asio::awaitable<bool> send(tcp::socket& socket, const std::vector<std::uint8_t>& bytes) {
    auto [ec, n] = co_await asio::async_write(socket, asio::buffer(bytes), k_use);
    co_return !ec;
}

asio::awaitable<std::string_view> socks_handshake(tcp::socket& socket, const TunnelPlan& plan) {
    if (plan.pipeline) {
        std::vector<std::uint8_t> both = plan.greeting;
        both.insert(both.end(), plan.request.begin(), plan.request.end());
        if (!co_await send(socket, both)) co_return "send failed";
    } else if (!co_await send(socket, plan.greeting)) {
        co_return "send failed";
    }

    std::vector<std::uint8_t> buffer;
    socks::Method method = socks::Method::no_acceptable;
    const bool got_method = co_await read_parsed(socket, buffer, [&method](Bytes in) {
        auto parsed = socks::parse_method_selection(in);
        if (parsed.done()) method = parsed.value;
        return parsed;
    });
    if (!got_method) co_return "no method selection";
    if (method != socks::Method::no_auth) co_return "method refused";

    if (!plan.pipeline && !co_await send(socket, plan.request)) co_return "send failed";
    socks::Reply reply = socks::Reply::general_failure;
    const bool got_reply = co_await read_parsed(socket, buffer, [&reply](Bytes in) {
        auto parsed = socks::parse_reply(in);
        if (parsed.done()) reply = parsed.value.reply;
        return parsed;
    });
    if (!got_reply) co_return "no reply";
    if (reply != socks::Reply::succeeded) co_return "proxy refused";
    // A proxy that sent data behind its reply would break the echo check below; none should.
    if (!buffer.empty()) co_return "bytes after reply";
    co_return std::string_view{};
}

}  // namespace

TunnelPlan make_plan(std::optional<tcp::endpoint> proxy, tcp::endpoint target, bool pipeline) {
    TunnelPlan plan;
    plan.proxy = proxy;
    plan.target = target;
    plan.pipeline = pipeline;
    constexpr std::array<socks::Method, 1> k_methods{socks::Method::no_auth};
    // Both builders fail only on out-of-range input (no methods, an invalid address), which cannot happen
    // for these values.
    (void)socks::build_method_request(plan.greeting, k_methods);
    (void)socks::build_request(plan.request, socks::Command::connect, to_socks_address(target));
    return plan;
}

asio::awaitable<std::string_view> open_tunnel(tcp::socket& socket, const TunnelPlan& plan,
                                              std::uint8_t probe) {
    const tcp::endpoint first_hop = plan.proxy ? *plan.proxy : plan.target;
    auto [connect_ec] = co_await socket.async_connect(first_hop, k_use);
    if (connect_ec) co_return "connect failed";
    asio::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);

    if (plan.proxy) {
        const std::string_view error = co_await socks_handshake(socket, plan);
        if (!error.empty()) co_return error;
    }

    const std::array<std::uint8_t, 1> sent{probe};
    auto [write_ec, written] = co_await asio::async_write(socket, asio::buffer(sent), k_use);
    if (write_ec) co_return "echo send failed";
    std::array<std::uint8_t, 1> echo{};
    auto [read_ec, read] = co_await asio::async_read(socket, asio::buffer(echo), k_use);
    if (read_ec || echo != sent) co_return "no echo";
    co_return std::string_view{};
}

asio::awaitable<void> close_from_far_side(tcp::socket& socket, bool close_requested) {
    asio::error_code ignored;
    if (!close_requested) {
        const std::array<std::uint8_t, 1> request{k_close_request};
        auto [write_ec, written] = co_await asio::async_write(socket, asio::buffer(request), k_use);
        if (write_ec) {
            socket.close(ignored);
            co_return;
        }
    }
    std::array<std::uint8_t, 64> drain;
    for (;;) {
        auto [ec, n] = co_await socket.async_read_some(asio::buffer(drain), k_use);
        if (ec) break;
    }
    socket.close(ignored);
}

}  // namespace sg::bench
