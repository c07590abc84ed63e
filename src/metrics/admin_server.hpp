#pragma once
// The admin HTTP listener: serves the metrics registry to Prometheus (and curl) over HTTP/1.1.
//   GET|HEAD /metrics -> 200, text exposition format 0.0.4 (Content-Type text/plain; version=0.0.4)
//   GET|HEAD /        -> 200, a short text index, or the page add_page() put there (the dashboard)
//   GET|HEAD pages    -> what add_page() registered
//   paths under a prefix given to add_api() -> that handler (a JSON API, docs/api.md)
//   other paths 404, other methods 405 (with Allow), malformed heads 400/413/431/501/505.
// The API is read-only unless a token is configured: a request with any other method than GET/HEAD needs
// `Authorization: Bearer <token>` (401 without it, 403 when no token is configured). Requests carry no body.
// One request per connection (`Connection: close`), one coroutine per connection on the io_context, a
// deadline for the request head and for writing the response, and a cap on concurrent connections:
// connections over the cap are closed at once, so a flood of idle clients cannot exhaust descriptors.
// After answering, the server half-closes and drains the client's leftovers for at most 1 s (RFC 9112
// section 9.6), so an early 413/431 is not lost to a reset. A head timeout closes without an answer.
// The io_context must be run by one thread (like every server in the tree).

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "metrics/registry.hpp"

namespace sg::metrics {

struct AdminOptions {
    std::chrono::steady_clock::duration head_timeout = std::chrono::seconds{5};    // from accept
    std::chrono::steady_clock::duration write_timeout = std::chrono::seconds{10};  // for the response
    std::size_t max_connections = 64;
    std::string token;  // empty: the API is read-only
};

// One API request as a handler sees it: the method, the path (no query) split off the query string.
struct ApiRequest {
    std::string method;
    std::string path;
    std::string query;
};

struct ApiResponse {
    int status = 200;
    std::string body;  // JSON
    std::string content_type = "application/json";
};

// Handlers run on the admin listener's io_context; they may hop to other event loops and back.
using ApiHandler = std::function<asio::awaitable<ApiResponse>(ApiRequest)>;

// The value of `name` in a query string ("a=1&b=2"), or nullopt. No percent-decoding: API parameters are
// numbers and plain names.
std::optional<std::string_view> query_parameter(std::string_view query, std::string_view name) noexcept;

// The page a list request asks for: `offset` (default 0) and `limit` (1 to max_limit, default
// default_limit). nullopt when either is not a number or limit is out of range (answer 400).
struct PageRequest {
    std::size_t offset = 0;
    std::size_t limit = 100;
};
std::optional<PageRequest> page_request(std::string_view query, std::size_t default_limit = 100,
                                        std::size_t max_limit = 1000) noexcept;

class AdminServer {
public:
    // `registry` must outlive the AdminServer.
    AdminServer(asio::io_context& io, Registry& registry, AdminOptions options = {});
    ~AdminServer();
    AdminServer(const AdminServer&) = delete;
    AdminServer& operator=(const AdminServer&) = delete;

    // Binds and starts accepting; returns the bound endpoint (useful with port 0). On failure `error` says
    // why (the socket error's message).
    sg::Result<asio::ip::tcp::endpoint> listen(const asio::ip::tcp::endpoint& endpoint, std::string& error);

    // Sends requests whose path starts with `prefix` (e.g. "/api/v1/relay/") to `handler`. Register before
    // listen(); the longest matching prefix wins.
    void add_api(std::string prefix, ApiHandler handler);

    // Serves `body` at exactly `path` to GET and HEAD (a page of the dashboard; "/" replaces the text index).
    // The page may fetch only from this listener: it goes out with Content-Security-Policy default-src
    // 'self'. `body` must outlive the AdminServer (assets compiled into the binary). Register before
    // listen().
    void add_page(std::string path, std::string content_type, std::string_view body);

    // Stops accepting and closes every open admin connection. Call it on the io_context's thread (or while
    // the io_context is not running).
    void stop();

    std::size_t active_connections() const noexcept;
    std::uint64_t rejected_connections() const noexcept;  // closed at once: over max_connections

    // Options, listeners, counters and the open connections, shared with the accept loops and connection
    // coroutines so that a frame destroyed after the server (at io_context teardown) still finds valid
    // state.
    struct Shared;

private:
    asio::io_context& io_;
    std::shared_ptr<Shared> shared_;
};

// Process-wide series whose counts live in net (which cannot see the registry):
// streamgate_log_lines_suppressed_total (net/rate_limited_log.hpp) and
// streamgate_unhandled_exceptions_total{where} (net/unhandled.hpp). Each subcommand with an admin listener
// registers them once.
void register_process_metrics(Registry& registry);

}  // namespace sg::metrics
