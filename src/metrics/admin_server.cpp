#include "metrics/admin_server.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/this_coro.hpp>
#include <asio/write.hpp>
#include <atomic>
#include <cstdio>
#include <ctime>
#include <list>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "common/text.hpp"
#include "common/units.hpp"
#include "http/http_request.hpp"
#include "metrics/json_error.hpp"
#include "net/accept_loop.hpp"
#include "net/asio_endpoint.hpp"
#include "net/clock.hpp"
#include "net/rate_limited_log.hpp"
#include "net/unhandled.hpp"
#include "net/use_tuple.hpp"

namespace sg::metrics {

using asio::ip::tcp;
using net::Clock;  // deadlines; a test may run them on manual time

struct AdminServer::Shared {
    AdminOptions options;
    Registry* registry = nullptr;        // cleared when the AdminServer goes away
    std::list<tcp::acceptor> acceptors;  // std::list: accept loops hold references
    std::list<net::AcceptCounters> accept_counters;
    std::set<tcp::socket*> open;  // for stop()
    std::atomic<std::size_t> active{0};
    std::atomic<std::uint64_t> rejected{0};
    std::map<std::string, ApiHandler, std::greater<>> apis;  // reverse order: longer prefixes first
    struct Page {
        std::string content_type;
        std::string_view body;
    };
    std::map<std::string, Page, std::less<>> pages;
    // Rejections are peer-triggered.
    net::RateLimitedLog reject_log{"admin: connections over the limit"};
};

namespace {

constexpr std::string_view k_metrics_type = "text/plain; version=0.0.4; charset=utf-8";
constexpr std::string_view k_text_type = "text/plain; charset=utf-8";
constexpr std::string_view k_index =
    "streamgate admin\n"
    "\n"
    "/metrics  Prometheus metrics (text format 0.0.4)\n";
constexpr auto k_linger = std::chrono::seconds{1};

// RFC 9110 section 5.6.7 IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT". Written by hand because
// strftime's %a and %b follow the locale.
std::string http_date(std::time_t now) {
    static constexpr std::array<const char*, 7> days = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr std::array<const char*, 12> months = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::tm tm{};
    if (gmtime_r(&now, &tm) == nullptr) return {};
    std::array<char, 40> buffer{};
    const int n = std::snprintf(buffer.data(), buffer.size(), "%s, %02d %s %04d %02d:%02d:%02d GMT",
                                days.at(static_cast<std::size_t>(tm.tm_wday % 7)), tm.tm_mday,
                                months.at(static_cast<std::size_t>(tm.tm_mon % 12)), tm.tm_year + 1900,
                                tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (n <= 0 || static_cast<std::size_t>(n) >= buffer.size()) return {};
    return std::string(buffer.data(), static_cast<std::size_t>(n));
}

// Builds the full response (or only its head, for HEAD) with a Date field (RFC 9110 section 6.6.1).
std::string reply(bool head_only, int status, std::string_view content_type, std::string_view body,
                  std::vector<http::Header> extra = {}) {
    const std::string date = http_date(std::time(nullptr));
    if (!date.empty()) extra.push_back(http::Header{"Date", date});
    if (head_only) return http::response_head(status, content_type, body.size(), extra);
    return http::response(status, content_type, body, extra);
}

std::string error_body(int status, std::string_view detail = {}) {
    std::string body(http::reason_phrase(status));
    if (!detail.empty()) {
        body += ": ";
        body += detail;
    }
    body.push_back('\n');
    return body;
}

// Compares without an early exit, so the time taken does not tell how much of a guess was right.
bool same_secret(std::string_view a, std::string_view b) {
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (std::size_t i = 0; i < a.size(); ++i)
        diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
    return diff == 0;
}

// The built-in pages: /metrics and the index.
std::string plain_route(const http::Request& request, const AdminServer::Shared& shared, int& status) {
    const bool head_only = request.method == "HEAD";
    if (request.method != "GET" && !head_only) {
        status = 405;
        return reply(false, status, k_text_type, error_body(status), {http::Header{"Allow", "GET, HEAD"}});
    }
    const auto path = http::target_path(request.target);
    if (const auto page = shared.pages.find(path); page != shared.pages.end()) {
        status = 200;
        return reply(
            head_only, status, page->second.content_type, page->second.body,
            {http::Header{"Content-Security-Policy", "default-src 'self'"},
             http::Header{"X-Content-Type-Options", "nosniff"}, http::Header{"Cache-Control", "no-cache"}});
    }
    if (path == "/metrics") {
        if (shared.registry == nullptr) {
            status = 503;
            return reply(head_only, status, k_text_type, error_body(status));
        }
        status = 200;
        const std::string body = shared.registry->expose();
        return reply(head_only, status, k_metrics_type, body);
    }
    if (path == "/") {
        status = 200;
        return reply(head_only, status, k_text_type, k_index);
    }
    status = 404;
    return reply(head_only, status, k_text_type, error_body(status));
}

// An API request: the token check, then the handler of the longest matching prefix.
asio::awaitable<std::string> api_route(const http::Request& request, const ApiHandler& handler,
                                       const AdminServer::Shared& shared, int& status) {
    const bool head_only = request.method == "HEAD";
    if (request.method != "GET" && !head_only) {
        const std::string* authorization = request.header("Authorization");
        if (shared.options.token.empty()) {
            status = 403;
            co_return reply(false, status, "application/json",
                            json_error("the API is read-only: no admin token is configured"));
        }
        constexpr std::string_view k_bearer = "Bearer ";
        if (authorization == nullptr || !istarts_with(*authorization, k_bearer) ||
            !same_secret(trim(std::string_view(*authorization).substr(k_bearer.size())),
                         shared.options.token)) {
            status = 401;
            co_return reply(false, status, "application/json", json_error("a valid bearer token is needed"),
                            {http::Header{"WWW-Authenticate", "Bearer realm=\"streamgate\""}});
        }
    }
    ApiRequest api;
    api.method = head_only ? "GET" : request.method;
    const std::string_view target = request.target;
    const auto question = target.find('?');
    api.path = std::string(http::target_path(target));
    if (question != std::string_view::npos) api.query = std::string(target.substr(question + 1));
    const ApiResponse response = co_await handler(std::move(api));
    status = response.status;
    co_return reply(head_only, status, response.content_type, response.body);
}

// The answer to one complete, valid request head.
asio::awaitable<std::string> route(const http::Request& request, const AdminServer::Shared& shared,
                                   int& status) {
    const auto api_path = http::target_path(request.target);
    for (const auto& [prefix, handler] : shared.apis)
        if (api_path.substr(0, prefix.size()) == prefix)
            co_return co_await api_route(request, handler, shared, status);
    co_return plain_route(request, shared, status);
}

// Reads until the head is complete, invalid, or the peer goes away (need_more). The parser never asks
// for more beyond its head limit, so the buffer stays bounded.
asio::awaitable<http::ParsedRequest> read_head(tcp::socket& socket, std::vector<std::uint8_t>& buffer) {
    std::array<std::uint8_t, 1024> chunk;
    for (;;) {
        http::ParsedRequest parsed = http::parse_request(Bytes(buffer));
        if (!parsed.need_more()) co_return parsed;
        auto [ec, n] = co_await socket.async_read_some(asio::buffer(chunk), net::k_use_tuple);
        if (ec) co_return parsed;
        buffer.insert(buffer.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
    }
}

asio::awaitable<void> write_all(tcp::socket& socket, const std::string& bytes) {
    co_await asio::async_write(socket, asio::buffer(bytes), net::k_use_tuple);
}

// RFC 9112 section 9.6: after answering, read (and drop) what the client still sends until it closes, for a
// bounded time and amount. Closing with unread input would make the kernel send a reset, which can destroy
// the response before the client has read it (a 413 or 431 answered while the request is still arriving).
asio::awaitable<void> drain(tcp::socket& socket) {
    constexpr std::size_t k_max_drain = 64 * k_kib;
    std::array<std::uint8_t, 1024> chunk;
    std::size_t total = 0;
    while (total < k_max_drain) {
        auto [ec, n] = co_await socket.async_read_some(asio::buffer(chunk), net::k_use_tuple);
        if (ec) co_return;
        total += n;
    }
}

asio::awaitable<void> sleep_until(Clock::time_point deadline) {
    net::Timer timer(co_await asio::this_coro::executor, deadline);
    co_await timer.async_wait(net::k_use_tuple);
}

// Keeps the open-connection registry and count right however the connection ends.
class OpenGuard {
public:
    OpenGuard(AdminServer::Shared& shared, tcp::socket& socket) : shared_(shared), socket_(socket) {
        shared_.open.insert(&socket_);
        shared_.active.fetch_add(1);
    }
    ~OpenGuard() {
        shared_.open.erase(&socket_);
        shared_.active.fetch_sub(1);
    }
    OpenGuard(const OpenGuard&) = delete;
    OpenGuard& operator=(const OpenGuard&) = delete;

private:
    AdminServer::Shared& shared_;
    tcp::socket& socket_;
};

asio::awaitable<void> serve_connection(tcp::socket socket, std::shared_ptr<AdminServer::Shared> shared) {
    using namespace asio::experimental::awaitable_operators;
    const auto started = Clock::now();
    OpenGuard guard(*shared, socket);
    asio::error_code ec;
    const auto peer = socket.remote_endpoint(ec);
    const std::string client = ec ? "?" : net::to_string(peer);

    std::vector<std::uint8_t> buffer;
    auto read = co_await (read_head(socket, buffer) || sleep_until(started + shared->options.head_timeout));
    if (read.index() == 1) {
        spdlog::debug("admin {}: request head timeout", client);
        socket.close(ec);
        co_return;
    }
    const http::ParsedRequest parsed = std::get<0>(std::move(read));
    if (parsed.need_more()) {
        socket.close(ec);
        co_return;
    }
    int status = 0;
    std::string answer;
    if (parsed.failed()) {
        status = parsed.error_status;
        answer = reply(false, status, k_text_type, error_body(status, parsed.error));
        spdlog::debug("admin {}: bad request ({}) -> {}", client, parsed.error, status);
    } else {
        answer = co_await route(parsed.value, *shared, status);
        spdlog::debug("admin {}: {} {} -> {}", client, parsed.value.method, parsed.value.target, status);
    }
    const auto write_deadline = Clock::now() + shared->options.write_timeout;
    auto written = co_await (write_all(socket, answer) || sleep_until(write_deadline));
    if (written.index() == 0) {
        socket.shutdown(tcp::socket::shutdown_send, ec);
        const auto linger_deadline = Clock::now() + k_linger;
        co_await (drain(socket) || sleep_until(linger_deadline));
    }
    socket.close(ec);
}

}  // namespace

AdminServer::AdminServer(asio::io_context& io, Registry& registry, AdminOptions options)
    : io_(io), shared_(std::make_shared<Shared>()) {
    shared_->options = std::move(options);
    shared_->registry = &registry;
}

AdminServer::~AdminServer() {
    stop();
    shared_->registry = nullptr;
}

std::size_t AdminServer::active_connections() const noexcept {
    return shared_->active.load();
}

std::uint64_t AdminServer::rejected_connections() const noexcept {
    return shared_->rejected.load();
}

sg::Result<tcp::endpoint> AdminServer::listen(const tcp::endpoint& endpoint, std::string& error) {
    asio::error_code ec;
    tcp::acceptor acceptor = net::open_listener(io_, endpoint, ec);
    if (ec) {
        error = ec.message();
        return sg::fail("cannot listen");
    }
    const auto bound = acceptor.local_endpoint();
    auto& acc = shared_->acceptors.emplace_back(std::move(acceptor));
    auto& counters = shared_->accept_counters.emplace_back();
    auto shared = shared_;
    auto on_accept = [shared](tcp::socket socket) {
        if (shared->active.load() >= shared->options.max_connections) {
            asio::error_code ignored;
            socket.close(ignored);
            shared->rejected.fetch_add(1);
            shared->reject_log.warn(
                "admin: connection closed at once: limit of {} open connections ({} so far)",
                shared->options.max_connections, shared->rejected.load());
            return;
        }
        const auto executor = socket.get_executor();
        asio::co_spawn(executor, serve_connection(std::move(socket), shared),
                       // Connections handle their own errors; an escaping exception is a bug, but it must end
                       // only that connection, never the server.
                       net::log_unhandled(net::Unhandled::admin_connection));
    };
    asio::co_spawn(io_, net::accept_loop(acc, std::move(on_accept), counters),
                   net::log_unhandled(net::Unhandled::accept_loop));
    spdlog::info("admin listening on {}", net::to_string(bound));
    return bound;
}

void AdminServer::add_page(std::string path, std::string content_type, std::string_view body) {
    shared_->pages[std::move(path)] = Shared::Page{std::move(content_type), body};
}

void AdminServer::add_api(std::string prefix, ApiHandler handler) {
    shared_->apis[std::move(prefix)] = std::move(handler);
}

std::optional<std::string_view> query_parameter(std::string_view query, std::string_view name) noexcept {
    while (!query.empty()) {
        std::string_view pair = pop_token(query, '&');
        const std::string_view key = pop_token(pair, '=');
        if (key == name) return pair;
    }
    return std::nullopt;
}

std::optional<PageRequest> page_request(std::string_view query, std::size_t default_limit,
                                        std::size_t max_limit) noexcept {
    PageRequest page{0, default_limit};
    if (const auto offset = query_parameter(query, "offset")) {
        const auto value = parse_uint<std::size_t>(*offset);
        if (!value) return std::nullopt;
        page.offset = *value;
    }
    if (const auto limit = query_parameter(query, "limit")) {
        const auto value = parse_uint<std::size_t>(*limit);
        if (!value) return std::nullopt;
        page.limit = *value;
    }
    if (page.limit == 0 || page.limit > max_limit) return std::nullopt;
    return page;
}

void AdminServer::stop() {
    asio::error_code ignored;
    for (auto& acceptor : shared_->acceptors)
        acceptor.close(ignored);
    for (tcp::socket* socket : shared_->open)
        socket->close(ignored);
}

void register_process_metrics(Registry& registry) {
    registry.counter_callback("streamgate_log_lines_suppressed_total",
                              "Peer-triggered log lines held back by rate limiting",
                              [] { return static_cast<double>(net::RateLimitedLog::suppressed_total()); });
    for (const auto where : net::k_unhandled_sites) {
        registry.counter_callback("streamgate_unhandled_exceptions_total",
                                  "Exceptions that escaped a coroutine (bugs), by where",
                                  [where] { return static_cast<double>(net::unhandled_count(where)); },
                                  {{"where", std::string(net::to_string(where))}});
    }
}

}  // namespace sg::metrics
