#include "client/socks_connect.hpp"

#include <array>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <optional>
#include <vector>

#include "net/use_tuple.hpp"
#include "socks5/socks5.hpp"

namespace sg::client {
namespace {

// Reads until `parse` accepts a message. False when the stream ends first or the message is malformed.
// Replies are read whole before the next request is sent, and an RTSP server never speaks first, so no
// byte after the reply can be lost.
template <class T, class Parse>
asio::awaitable<bool> read_message(asio::ip::tcp::socket& socket, Parse parse, std::optional<T>& out) {
    std::vector<std::uint8_t> buffer;
    std::array<std::uint8_t, 512> chunk{};
    while (buffer.size() < 1024) {
        auto [ec, n] = co_await socket.async_read_some(asio::buffer(chunk), net::k_use_tuple);
        if (ec) co_return false;
        buffer.insert(buffer.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
        auto parsed = parse(Bytes(buffer));
        if (parsed.failed()) co_return false;
        if (parsed.done()) {
            out = std::move(parsed.value);
            co_return true;
        }
    }
    co_return false;
}

asio::awaitable<bool> write_all(asio::ip::tcp::socket& socket, const std::vector<std::uint8_t>& data) {
    auto [ec, n] = co_await asio::async_write(socket, asio::buffer(data), net::k_use_tuple);
    co_return !ec;
}

socks::Address target_address(const std::string& host, std::uint16_t port) {
    asio::error_code ec;
    const auto ip = asio::ip::make_address(host, ec);
    if (!ec && ip.is_v4()) return socks::Address::from_ipv4(ip.to_v4().to_bytes(), port);
    if (!ec && ip.is_v6()) return socks::Address::from_ipv6(ip.to_v6().to_bytes(), port);
    auto domain = socks::Address::from_domain(host, port);
    return domain ? *domain : socks::Address{};
}

}  // namespace

asio::awaitable<std::string> socks5_connect(asio::ip::tcp::socket& socket, std::string host,
                                            std::uint16_t port, SocksCredentials credentials) {
    const bool with_auth = !credentials.user.empty();
    std::vector<std::uint8_t> out;
    const std::array<socks::Method, 1> methods{with_auth ? socks::Method::username_password
                                                         : socks::Method::no_auth};
    if (!socks::build_method_request(out, methods)) co_return "socks request too long";
    if (!co_await write_all(socket, out)) co_return "socks connection lost";
    std::optional<socks::Method> method;
    if (!co_await read_message(socket, socks::parse_method_selection, method))
        co_return "socks handshake failed";
    if (*method != methods[0]) co_return "socks method refused";
    if (with_auth) {
        out.clear();
        if (!socks::build_auth_request(out, credentials.user, credentials.password))
            co_return "socks credentials too long";
        if (!co_await write_all(socket, out)) co_return "socks connection lost";
        std::optional<socks::AuthReply> auth;
        if (!co_await read_message(socket, socks::parse_auth_reply, auth)) co_return "socks handshake failed";
        if (!auth->success()) co_return "socks auth refused";
    }
    out.clear();
    if (!socks::build_request(out, socks::Command::connect, target_address(host, port)))
        co_return "socks request too long";
    if (!co_await write_all(socket, out)) co_return "socks connection lost";
    std::optional<socks::ReplyMessage> reply;
    if (!co_await read_message(socket, socks::parse_reply, reply)) co_return "socks handshake failed";
    if (reply->reply != socks::Reply::succeeded)
        co_return "socks " + std::string(socks::to_string(reply->reply));
    co_return "";
}

}  // namespace sg::client
