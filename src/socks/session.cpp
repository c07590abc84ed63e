#include "socks/session.hpp"

#include <spdlog/spdlog.h>

#include <asio/experimental/awaitable_operators.hpp>
#include <optional>
#include <string>
#include <vector>

#include "net/asio_endpoint.hpp"
#include "socks/commands.hpp"
#include "socks/session_context.hpp"
#include "socks/session_io.hpp"
#include "socks/socks5.hpp"

namespace sg::socks {
namespace {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

void log_session_end(const SessionRecord& r, Clock::time_point started) {
    const std::chrono::duration<double> duration = Clock::now() - started;
    spdlog::info(
        "session-end client={} user={} cmd={} target={} resolved={} rep={} up={} down={} duration={:.3f}s "
        "end=\"{}\"",
        r.client, r.user, r.command, r.target, r.resolved, r.replied ? to_string(r.reply) : "none", r.up,
        r.down, duration.count(), r.end);
}

bool admitted(const ServerOptions& options, const asio::ip::address& client) {
    if (options.allow.empty()) return net::unmap(client).is_loopback();
    for (const auto& cidr : options.allow) {
        if (cidr.contains(client)) return true;
    }
    return false;
}

// Greeting and request (RFC 1928 sections 3-4). Returns the request to carry out, or nothing when the session
// is over (already answered where the protocol has an answer).
asio::awaitable<std::optional<Request>> negotiate(tcp::socket& client, std::vector<std::uint8_t>& buffer,
                                                  const ServerOptions& options, SessionRecord& record) {
    const auto greeting = co_await read_message<Parsed<MethodRequest>>(client, buffer, parse_method_request,
                                                                       k_max_method_request_size);
    if (!greeting.done()) {
        record.end = greeting.failed() ? std::string("bad greeting: ") + std::string(greeting.error)
                                       : "client closed during greeting";
        co_return std::nullopt;
    }
    std::vector<std::uint8_t> out;
    if (!greeting.value.offers(Method::no_auth)) {
        build_method_selection(out, Method::no_acceptable);
        co_await send_all(client, out);
        record.end = "no acceptable authentication method";
        co_return std::nullopt;
    }
    build_method_selection(out, Method::no_auth);
    if (!co_await send_all(client, out)) {
        record.end = "client closed during greeting";
        co_return std::nullopt;
    }

    const auto request =
        co_await read_message<ParsedRequest>(client, buffer, parse_request, k_max_request_size);
    if (request.failed()) {
        record.end = std::string("bad request: ") + std::string(request.error);
        co_await send_reply(client, record, request.error_reply, Address{});
        co_return std::nullopt;
    }
    if (!request.done()) {
        record.end = "client closed during request";
        co_return std::nullopt;
    }
    record.command = to_string(request.value.command);
    record.target = request.value.destination.to_string();
    asio::error_code ec;
    const auto peer = client.remote_endpoint(ec);
    if (ec || !admitted(options, peer.address())) {
        record.end = "client not in allow list";
        co_await send_reply(client, record, Reply::not_allowed, Address{});
        co_return std::nullopt;
    }
    co_return request.value;
}

// Registers the session for close_sessions() and keeps the active count right however the session ends.
class LiveGuard {
public:
    LiveGuard(Server::Shared& shared, LiveSession& live) : shared_(shared), live_(live) {
        shared_.live.insert(&live_);
        shared_.stats.active.fetch_add(1);
        shared_.stats.sessions_started.fetch_add(1);
    }
    ~LiveGuard() {
        shared_.live.erase(&live_);
        shared_.stats.active.fetch_sub(1);
    }
    LiveGuard(const LiveGuard&) = delete;
    LiveGuard& operator=(const LiveGuard&) = delete;

private:
    Server::Shared& shared_;
    LiveSession& live_;
};

asio::awaitable<void> dispatch(SessionContext& ctx, const Request& request) {
    switch (request.command) {
        case Command::connect:
            co_await run_connect(ctx, request);
            co_return;
        case Command::bind:
        case Command::udp_associate:
            break;
    }
    ctx.record.end = "command not supported";
    co_await send_reply(ctx.client, ctx.record, Reply::command_not_supported, Address{});
}

}  // namespace

asio::awaitable<void> run_session(tcp::socket client, std::shared_ptr<Server::Shared> shared) {
    using namespace asio::experimental::awaitable_operators;
    const auto started = Clock::now();
    LiveSession live{&client, nullptr};
    LiveGuard guard(*shared, live);
    SessionRecord record;
    asio::error_code ec;
    const auto peer = client.remote_endpoint(ec);
    record.client = ec ? "?" : net::to_string(peer);

    std::vector<std::uint8_t> buffer;
    auto negotiated = co_await (negotiate(client, buffer, shared->options, record) ||
                                sleep_until(started + shared->options.handshake_timeout));
    if (negotiated.index() == 1) {
        record.end = "handshake timeout";
    } else if (const auto request = std::get<0>(std::move(negotiated))) {
        SessionContext ctx{client, buffer, *shared, record, live};
        co_await dispatch(ctx, *request);
        shared->stats.bytes_client_to_target.fetch_add(record.up);
        shared->stats.bytes_target_to_client.fetch_add(record.down);
    }
    log_session_end(record, started);
}

}  // namespace sg::socks
