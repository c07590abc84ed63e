#include "socks/session.hpp"

#include <spdlog/spdlog.h>

#include <asio/experimental/awaitable_operators.hpp>
#include <optional>
#include <string>
#include <vector>

#include "metrics/registry.hpp"
#include "net/asio_endpoint.hpp"
#include "socks/commands.hpp"
#include "socks/session_context.hpp"
#include "socks/session_io.hpp"
#include "socks5/socks5.hpp"

namespace sg::socks {
namespace {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

void count_session(metrics::Registry* registry, const SessionRecord& r) {
    if (registry == nullptr) return;
    registry
        ->counter("streamgate_socks_sessions_total", "SOCKS sessions ended, by command and the REP sent",
                  {{"command", std::string(r.command)},
                   {"rep", std::string(r.replied ? to_string(r.reply) : "none")}})
        .inc();
}

std::string session_end_line(const SessionRecord& r, Clock::time_point started) {
    const std::chrono::duration<double> duration = Clock::now() - started;
    return fmt::format(
        "session-end client={} user={} cmd={} target={} resolved={} rep={} up={} down={} duration={:.3f}s "
        "end=\"{}\"",
        r.client, r.user, r.command, r.target, r.resolved, r.replied ? to_string(r.reply) : "none", r.up,
        r.down, duration.count(), r.end);
}

// Real sessions' lines are never throttled; connections that never sent a valid greeting (scanners,
// garbage) are peer-triggered noise and go through `garbage`.
void log_session_end(const SessionRecord& r, Clock::time_point started, net::RateLimitedLog& garbage) {
    if (r.greeted) {
        spdlog::info("{}", session_end_line(r, started));
    } else {
        garbage.info("{}", session_end_line(r, started));
    }
}

// Usernames are arbitrary octets: never let one forge a log line.
std::string log_safe(std::string_view text) {
    std::string out;
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte >= 0x21 && byte < 0x7f && c != '"' && c != '\\') {
            out += c;
        } else {
            out += fmt::format("\\x{:02x}", byte);
        }
    }
    return out;
}

// RFC 1929 sub-negotiation. Returns the authenticated user name, or nothing (session over).
asio::awaitable<std::optional<std::string>> authenticate(tcp::socket& client,
                                                         std::vector<std::uint8_t>& buffer,
                                                         const Credentials& users, ServerStats& stats,
                                                         SessionRecord& record) {
    const auto auth = co_await read_message<Parsed<AuthRequest>>(client, buffer, parse_auth_request,
                                                                 k_max_auth_request_size);
    if (!auth.done()) {
        record.end = auth.failed() ? std::string("bad authentication request: ") + std::string(auth.error)
                                   : "client closed during authentication";
        co_return std::nullopt;
    }
    record.user = log_safe(auth.value.username);
    stats.auth_attempts.fetch_add(1);
    const bool ok = users.verify(auth.value.username, auth.value.password);
    std::vector<std::uint8_t> out;
    build_auth_reply(out, ok);
    const bool sent = co_await send_all(client, out);
    if (!ok) {
        record.end = "authentication failed";
        co_return std::nullopt;
    }
    if (!sent) {
        record.end = "client closed during authentication";
        co_return std::nullopt;
    }
    co_return auth.value.username;
}

// Greeting, authentication and request (RFC 1928 sections 3-4, RFC 1929), then the rules (the allow-list was
// checked at accept). Returns the request to carry out, or nothing when the session is over (already
// answered where the protocol has an answer).
asio::awaitable<std::optional<Admitted>> negotiate(tcp::socket& client, std::vector<std::uint8_t>& buffer,
                                                   const ServerOptions& options, ServerStats& stats,
                                                   SessionRecord& record) {
    const auto greeting = co_await read_message<Parsed<MethodRequest>>(client, buffer, parse_method_request,
                                                                       k_max_method_request_size);
    if (!greeting.done()) {
        record.end = greeting.failed() ? std::string("bad greeting: ") + std::string(greeting.error)
                                       : "client closed during greeting";
        co_return std::nullopt;
    }
    record.greeted = true;
    // Hold the account list and rules for the whole handshake: a SIGHUP reload may replace them meanwhile.
    const auto users = options.users;
    const auto rules = options.rules;
    const bool need_auth = users && !users->empty();
    const Method method = need_auth ? Method::username_password : Method::no_auth;
    std::vector<std::uint8_t> out;
    if (!greeting.value.offers(method)) {
        build_method_selection(out, Method::no_acceptable);
        co_await send_all(client, out);
        record.end = need_auth ? "client does not offer username/password authentication"
                               : "no acceptable authentication method";
        co_return std::nullopt;
    }
    build_method_selection(out, method);
    if (!co_await send_all(client, out)) {
        record.end = "client closed during greeting";
        co_return std::nullopt;
    }
    std::optional<std::string> user;
    if (need_auth) {
        user = co_await authenticate(client, buffer, *users, stats, record);
        if (!user) co_return std::nullopt;
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
    Admitted admitted{request.value, {}};
    if (rules && !rules->empty()) {
        asio::error_code ec;
        const auto peer = client.remote_endpoint(ec);
        if (ec) {
            record.end = "client gone";
            co_return std::nullopt;
        }
        admitted.policy = SessionPolicy(rules, net::unmap(peer.address()), user, request.value.command);
        const auto decision = admitted.policy.evaluate_request(request.value.destination);
        if (!decision.allowed) {
            record.end = fmt::format("denied by rule '{}'", decision.rule_name);
            co_await send_reply(client, record, Reply::not_allowed, Address{});
            co_return std::nullopt;
        }
    }
    co_return admitted;
}

// Registers the session in its loop's registry (for close_sessions(), sessions() and end_session()) and keeps
// the active count right however the session ends.
class LiveGuard {
public:
    LiveGuard(Server::Shared& shared, LoopSessions& loop, LiveSession& live)
        : shared_(shared), loop_(loop), live_(live) {
        live_.id = shared_.next_id.fetch_add(1);
        loop_.live.emplace(live_.id, &live_);
        shared_.stats.active.fetch_add(1);
        shared_.stats.sessions_started.fetch_add(1);
    }
    ~LiveGuard() {
        loop_.live.erase(live_.id);
        shared_.stats.active.fetch_sub(1);
    }
    LiveGuard(const LiveGuard&) = delete;
    LiveGuard& operator=(const LiveGuard&) = delete;

private:
    Server::Shared& shared_;
    LoopSessions& loop_;
    LiveSession& live_;
};

asio::awaitable<void> dispatch(SessionContext& ctx, const Request& request) {
    switch (request.command) {
        case Command::connect:
            co_await run_connect(ctx, request);
            co_return;
        case Command::bind:
            co_await run_bind(ctx, request);
            co_return;
        case Command::udp_associate:
            co_await run_udp_associate(ctx, request);
            co_return;
    }
    ctx.record.end = "command not supported";
    co_await send_reply(ctx.client, ctx.record, Reply::command_not_supported, Address{});
}

}  // namespace

SessionSnapshot session_snapshot(const LiveSession& live, Clock::time_point now) {
    SessionSnapshot s;
    s.id = live.id;
    s.age = now - live.started;
    if (live.record == nullptr) return s;
    const SessionRecord& r = *live.record;
    s.client = r.client;
    s.user = r.user;
    s.command = std::string(r.command);
    s.target = r.target;
    s.resolved = r.resolved;
    s.bytes_up = r.up + live.progress.a_to_b;
    s.bytes_down = r.down + live.progress.b_to_a;
    return s;
}

// `slot` is never touched: the coroutine frame owns it, so the client's slot is held exactly as long as the
// session.
asio::awaitable<void> run_session(tcp::socket client, std::shared_ptr<Server::Shared> shared,
                                  LoopSessions& loop, [[maybe_unused]] net::Admission::Slot slot) {
    using namespace asio::experimental::awaitable_operators;
    const auto started = Clock::now();
    SessionRecord record;
    LiveSession live;
    live.client = &client;
    live.started = started;
    live.record = &record;
    LiveGuard guard(*shared, loop, live);
    asio::error_code ec;
    const auto peer = client.remote_endpoint(ec);
    record.client = ec ? "?" : net::to_string(peer);

    std::vector<std::uint8_t> buffer;
    // The handshake runs under the options of its start; the command takes a fresh snapshot.
    const auto options = shared->options();
    auto negotiated = co_await (negotiate(client, buffer, *options, shared->stats, record) ||
                                sleep_until(started + options->handshake_timeout));
    if (negotiated.index() == 1) {
        record.end = "handshake timeout";
    } else if (const auto admitted = std::get<0>(std::move(negotiated))) {
        SessionContext ctx{client, buffer, *shared, record, live, admitted->policy};
        co_await dispatch(ctx, admitted->request);
        shared->stats.bytes_client_to_target.fetch_add(record.up);
        shared->stats.bytes_target_to_client.fetch_add(record.down);
    }
    if (live.ended_by_operator) record.end = "ended by operator";
    count_session(shared->registry, record);
    log_session_end(record, started, shared->garbage_log);
}

}  // namespace sg::socks
