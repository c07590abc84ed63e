#include "ctl/admin_client.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/write.hpp>

#include "common/units.hpp"
#include "net/use_tuple.hpp"

namespace sg::ctl {
namespace {

using asio::ip::tcp;
constexpr std::size_t k_max_response = 64 * k_mib;  // a page of 1000 calls is a few MiB at most

struct Exchange {
    std::string wire;      // the request
    std::string received;  // everything the server sent
    std::string error;     // empty on success
    bool done = false;
};

std::string connect_hint(const net::HostPort& admin, const asio::error_code& ec) {
    if (ec == asio::error::connection_refused)
        return fmt::format("connection refused: is the admin listener at {} on (--admin)?",
                           net::to_string(admin));
    return fmt::format("cannot connect to {}: {}", net::to_string(admin), ec.message());
}

// Only references: g++ 12 mishandles coroutines whose lambdas capture strings by value; the caller's frame
// outlives the io_context run.
asio::awaitable<void> exchange(tcp::socket& socket, const net::HostPort& admin, Exchange& x) {
    tcp::resolver resolver(socket.get_executor());
    auto [resolve_ec, endpoints] =
        co_await resolver.async_resolve(admin.host, std::to_string(admin.port), net::k_use_tuple);
    if (resolve_ec) {
        x.error = fmt::format("cannot resolve {}: {}", admin.host, resolve_ec.message());
        co_return;
    }
    auto [connect_ec, endpoint] = co_await asio::async_connect(socket, endpoints, net::k_use_tuple);
    if (connect_ec) {
        x.error = connect_hint(admin, connect_ec);
        co_return;
    }
    auto [write_ec, written] = co_await asio::async_write(socket, asio::buffer(x.wire), net::k_use_tuple);
    if (write_ec) {
        x.error = fmt::format("sending the request: {}", write_ec.message());
        co_return;
    }
    std::array<char, 16384> chunk{};
    for (;;) {
        auto [read_ec, n] = co_await socket.async_read_some(asio::buffer(chunk), net::k_use_tuple);
        x.received.append(chunk.data(), n);
        if (read_ec == asio::error::eof) break;
        if (read_ec) {
            x.error = fmt::format("reading the response: {}", read_ec.message());
            co_return;
        }
        if (x.received.size() > k_max_response) {
            x.error = "the response is too large";
            co_return;
        }
    }
    x.done = true;
}

}  // namespace

std::optional<http::Response> call_admin(const net::HostPort& admin, const AdminRequest& request,
                                         std::chrono::milliseconds timeout, std::string& error) {
    http::Request head;
    head.method = request.method;
    head.target = request.target;
    const std::string host = admin.host.find(':') != std::string::npos ? "[" + admin.host + "]" : admin.host;
    head.headers.push_back({"Host", fmt::format("{}:{}", host, admin.port)});
    head.headers.push_back({"User-Agent", "streamgate-ctl"});
    head.headers.push_back({"Accept", "application/json"});
    head.headers.push_back({"Connection", "close"});
    if (!request.token.empty()) head.headers.push_back({"Authorization", "Bearer " + request.token});

    Exchange x;
    x.wire = http::to_string(head);
    asio::io_context io(1);
    tcp::socket socket(io);
    asio::co_spawn(io, exchange(socket, admin, x), asio::detached);
    io.run_for(timeout);
    if (!x.done && x.error.empty()) {
        error = fmt::format("no answer from {} within {} ms", net::to_string(admin), timeout.count());
        return std::nullopt;
    }
    if (!x.error.empty()) {
        error = x.error;
        return std::nullopt;
    }
    auto parsed = http::parse_response(x.received);
    if (!parsed) {
        error = fmt::format("{} did not answer in HTTP: {}", net::to_string(admin), parsed.error());
        return std::nullopt;
    }
    return std::move(*parsed);
}

std::string describe_api_error(const http::Response& response) {
    std::string message;
    const auto body = nlohmann::json::parse(response.body, nullptr, false);
    if (!body.is_discarded() && body.is_object() && body.contains("error") && body["error"].is_string()) {
        message = body["error"].get<std::string>();
    } else {
        message = std::string(http::reason_phrase(response.status));
    }
    std::string text = fmt::format("{} ({})", message, response.status);
    if (response.status == 401) text += ": give the admin token with --token-file";
    if (response.status == 403)
        text += ": start the service with --admin-token-file (or admin_token_file) to allow changes";
    return text;
}

}  // namespace sg::ctl
