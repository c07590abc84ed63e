#include "socks/session.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <optional>
#include <string>
#include <vector>

#include "net/asio_endpoint.hpp"
#include "net/relay.hpp"
#include "socks/connector.hpp"
#include "socks/socks5.hpp"

namespace sg::socks {
namespace {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto k_use = asio::experimental::as_tuple(asio::use_awaitable);

// What the session-end log line reports.
struct SessionRecord {
    std::string client;
    std::string_view command = "-";
    std::string target = "-";
    std::string resolved = "-";
    Reply reply = Reply::general_failure;
    bool replied = false;
    std::uint64_t up = 0;    // client -> target
    std::uint64_t down = 0;  // target -> client
    std::string end = "-";
};

void log_session_end(const SessionRecord& r, Clock::time_point started) {
    const std::chrono::duration<double> duration = Clock::now() - started;
    spdlog::info(
        "session-end client={} user=- cmd={} target={} resolved={} rep={} up={} down={} duration={:.3f}s "
        "end=\"{}\"",
        r.client, r.command, r.target, r.resolved, r.replied ? to_string(r.reply) : "none", r.up, r.down,
        duration.count(), r.end);
}

bool admitted(const ServerOptions& options, const asio::ip::address& client) {
    if (options.allow.empty()) return net::unmap(client).is_loopback();
    for (const auto& cidr : options.allow) {
        if (cidr.contains(client)) return true;
    }
    return false;
}

Address to_socks_address(const tcp::endpoint& ep) {
    const auto addr = net::unmap(ep.address());
    if (addr.is_v4()) return Address::from_ipv4(addr.to_v4().to_bytes(), ep.port());
    return Address::from_ipv6(addr.to_v6().to_bytes(), ep.port());
}

// Reads until `parse` stops asking for more, bounded by `max_size`. Parsed bytes are removed from `buffer`;
// anything after them (a pipelining client) stays. A need_more result means the client went away.
template <class Parsed, class Parse>
asio::awaitable<Parsed> read_message(tcp::socket& socket, std::vector<std::uint8_t>& buffer, Parse parse,
                                     std::size_t max_size) {
    std::array<std::uint8_t, 512> chunk;
    for (;;) {
        Parsed result = parse(Bytes(buffer));
        if (result.done())
            buffer.erase(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(result.consumed));
        if (!result.need_more()) co_return result;
        if (buffer.size() >= max_size) {
            result.status = ParseStatus::error;
            result.error = "message too long";
            co_return result;
        }
        auto [ec, n] = co_await socket.async_read_some(asio::buffer(chunk), k_use);
        if (ec) co_return result;
        buffer.insert(buffer.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
    }
}

asio::awaitable<bool> send(tcp::socket& socket, const std::vector<std::uint8_t>& bytes) {
    auto [ec, n] = co_await asio::async_write(socket, asio::buffer(bytes), k_use);
    co_return !ec;
}

asio::awaitable<void> send_reply(tcp::socket& socket, SessionRecord& record, Reply reply, Address bound) {
    std::vector<std::uint8_t> out;
    build_reply(out, reply, bound);
    record.reply = reply;
    record.replied = co_await send(socket, out);
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
        co_await send(client, out);
        record.end = "no acceptable authentication method";
        co_return std::nullopt;
    }
    build_method_selection(out, Method::no_auth);
    if (!co_await send(client, out)) {
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
    if (!admitted(options, client.remote_endpoint().address())) {
        record.end = "client not in allow list";
        co_await send_reply(client, record, Reply::not_allowed, Address{});
        co_return std::nullopt;
    }
    if (request.value.command != Command::connect) {
        record.end = "command not supported";
        co_await send_reply(client, record, Reply::command_not_supported, Address{});
        co_return std::nullopt;
    }
    co_return request.value;
}

asio::awaitable<void> sleep_until(Clock::time_point deadline) {
    asio::steady_timer timer(co_await asio::this_coro::executor, deadline);
    co_await timer.async_wait(k_use);
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

}  // namespace

asio::awaitable<void> run_session(tcp::socket client, std::shared_ptr<Server::Shared> shared) {
    using namespace asio::experimental::awaitable_operators;
    const auto started = Clock::now();
    const ServerOptions& options = shared->options;
    LiveSession live{&client, nullptr};
    LiveGuard guard(*shared, live);
    SessionRecord record;
    asio::error_code ec;
    const auto peer = client.remote_endpoint(ec);
    record.client = ec ? "?" : net::to_string(peer);

    std::vector<std::uint8_t> buffer;
    auto negotiated = co_await (negotiate(client, buffer, options, record) ||
                                sleep_until(started + options.handshake_timeout));
    if (negotiated.index() == 1) {
        record.end = "handshake timeout";
        log_session_end(record, started);
        co_return;
    }
    const auto request = std::get<0>(std::move(negotiated));
    if (!request) {
        log_session_end(record, started);
        co_return;
    }

    auto outcome = co_await connect_to(request->destination, options.connect_timeout);
    record.resolved = outcome.resolved.empty() ? "-" : outcome.resolved;
    if (outcome.reply != Reply::succeeded) {
        record.end = outcome.error;
        co_await send_reply(client, record, outcome.reply, Address{});
        log_session_end(record, started);
        co_return;
    }
    tcp::socket& target = outcome.socket;
    live.target = &target;
    client.set_option(tcp::no_delay(true), ec);

    co_await send_reply(client, record, Reply::succeeded, to_socks_address(target.local_endpoint(ec)));
    if (!record.replied) {
        record.end = "client closed before reply";
        log_session_end(record, started);
        co_return;
    }
    // Bytes the client pipelined behind its request belong to the target.
    if (!buffer.empty()) {
        if (!co_await send(target, buffer)) {
            record.end = "target closed";
            log_session_end(record, started);
            co_return;
        }
        record.up += buffer.size();
        buffer.clear();
    }

    const auto result = co_await net::relay(client, target, options.idle_timeout);
    record.up += result.bytes_a_to_b;
    record.down += result.bytes_b_to_a;
    record.end = result.end_reason;
    shared->stats.bytes_client_to_target.fetch_add(record.up);
    shared->stats.bytes_target_to_client.fetch_add(record.down);
    log_session_end(record, started);
}

}  // namespace sg::socks
