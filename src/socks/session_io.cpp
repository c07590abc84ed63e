#include "socks/session_io.hpp"

#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/write.hpp>

#include "net/asio_endpoint.hpp"

namespace sg::socks {

asio::awaitable<bool> send_all(asio::ip::tcp::socket& socket, const std::vector<std::uint8_t>& bytes) {
    auto [ec, n] = co_await asio::async_write(socket, asio::buffer(bytes), k_use_tuple);
    co_return !ec;
}

asio::awaitable<void> send_reply(asio::ip::tcp::socket& socket, SessionRecord& record, Reply reply,
                                 Address bound) {
    std::vector<std::uint8_t> out;
    build_reply(out, reply, bound);
    record.reply = reply;
    record.replied = co_await send_all(socket, out);
}

asio::awaitable<void> sleep_until(std::chrono::steady_clock::time_point deadline) {
    asio::steady_timer timer(co_await asio::this_coro::executor, deadline);
    co_await timer.async_wait(k_use_tuple);
}

Address to_socks_address(const asio::ip::tcp::endpoint& endpoint) {
    const auto addr = net::unmap(endpoint.address());
    if (addr.is_v4()) return Address::from_ipv4(addr.to_v4().to_bytes(), endpoint.port());
    return Address::from_ipv6(addr.to_v6().to_bytes(), endpoint.port());
}

}  // namespace sg::socks
