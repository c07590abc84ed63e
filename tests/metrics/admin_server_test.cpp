// The admin listener on loopback, driven by blocking clients (and by curl and promtool when installed).
#include "metrics/admin_server.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/wait.h>
#include <optional>

#include <array>
#include <asio/connect.hpp>
#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "net/clock.hpp"
#include "net/unhandled.hpp"

namespace sg::metrics {
namespace {

using asio::ip::tcp;
using namespace std::chrono_literals;

// A server on its own io_context thread, on an ephemeral loopback port.
class AdminFixture : public ::testing::Test {
protected:
    void SetUp() override {
        registry_.counter("sg_test_requests_total", "Requests seen by the test.", {{"kind", "a\"b"}}).inc(3);
        registry_.gauge("sg_test_level", "A level.").set(1.5);
    }

    void start(AdminOptions options = {}, std::function<void(AdminServer&)> before_listen = {}) {
        server_ = std::make_unique<AdminServer>(io_, registry_, options);
        if (before_listen) before_listen(*server_);
        std::string error;
        const auto bound = server_->listen(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0), error);
        ASSERT_TRUE(bound.ok()) << error;
        endpoint_ = *bound;
        thread_ = std::thread([this] { io_.run(); });
    }

    void TearDown() override {
        if (server_) asio::post(io_, [this] { server_->stop(); });
        work_.reset();
        io_.stop();
        if (thread_.joinable()) thread_.join();
        server_.reset();
    }

    tcp::socket connect_client() {
        tcp::socket s(client_io_);
        s.connect(endpoint_);
        return s;
    }

    // Sends `request` and reads until the server closes.
    std::string exchange(std::string_view request) {
        auto s = connect_client();
        asio::write(s, asio::buffer(request));
        return read_to_eof(s);
    }

    static std::string read_to_eof(tcp::socket& s) {
        std::string out;
        std::array<char, 4096> chunk;
        for (;;) {
            asio::error_code ec;
            const std::size_t n = s.read_some(asio::buffer(chunk), ec);
            out.append(chunk.data(), n);
            if (ec) break;
        }
        return out;
    }

    // Polls a condition the server thread changes.
    template <class Pred>
    static bool eventually(Pred pred, std::chrono::milliseconds deadline = 2000ms) {
        const auto end = std::chrono::steady_clock::now() + deadline;
        while (!pred()) {
            if (std::chrono::steady_clock::now() > end) return false;
            std::this_thread::sleep_for(5ms);
        }
        return true;
    }

    // Emplaced by tests that move the clock themselves; declared first, so it outlives the server.
    std::optional<net::ManualTime> time_;
    Registry registry_;
    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
    asio::io_context client_io_;
    std::unique_ptr<AdminServer> server_;
    tcp::endpoint endpoint_;
    std::thread thread_;
};

struct HttpReply {
    std::string status_line;
    std::string head;  // status line and fields, without the empty line
    std::string body;
};

HttpReply split(const std::string& raw) {
    HttpReply reply;
    const auto end = raw.find("\r\n\r\n");
    if (end == std::string::npos) return reply;
    reply.head = raw.substr(0, end);
    reply.status_line = raw.substr(0, raw.find("\r\n"));
    reply.body = raw.substr(end + 4);
    return reply;
}

std::string field(const HttpReply& reply, std::string_view name) {
    const std::string key = "\r\n" + std::string(name) + ": ";
    const auto at = reply.head.find(key);
    if (at == std::string::npos) return {};
    const auto from = at + key.size();
    return reply.head.substr(from, reply.head.find("\r\n", from) - from);
}

TEST_F(AdminFixture, MetricsGetsTheExposition) {
    start();
    const auto reply = split(exchange("GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    EXPECT_EQ(reply.status_line, "HTTP/1.1 200 OK");
    EXPECT_EQ(field(reply, "Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_EQ(field(reply, "Connection"), "close");
    EXPECT_EQ(field(reply, "Date").size(), 29u);  // "Sun, 06 Nov 1994 08:49:37 GMT"
    EXPECT_EQ(reply.body,
              "# HELP sg_test_level A level.\n"
              "# TYPE sg_test_level gauge\n"
              "sg_test_level 1.5\n"
              "# HELP sg_test_requests_total Requests seen by the test.\n"
              "# TYPE sg_test_requests_total counter\n"
              "sg_test_requests_total{kind=\"a\\\"b\"} 3\n");
    EXPECT_EQ(field(reply, "Content-Length"), std::to_string(reply.body.size()));
}

TEST_F(AdminFixture, HeadGetsTheLengthWithoutTheBody) {
    start();
    const auto raw = exchange("HEAD /metrics?x=1 HTTP/1.0\r\n\r\n");
    const auto reply = split(raw);
    EXPECT_EQ(reply.status_line, "HTTP/1.1 200 OK");
    EXPECT_EQ(reply.body, "");
    EXPECT_EQ(field(reply, "Content-Length"), std::to_string(registry_.expose().size()));
}

TEST_F(AdminFixture, IndexNotFoundAndMethodNotAllowed) {
    start();
    const auto index = split(exchange("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
    EXPECT_EQ(index.status_line, "HTTP/1.1 200 OK");
    EXPECT_NE(index.body.find("/metrics"), std::string::npos);

    const auto absolute = split(exchange("GET http://a/metrics HTTP/1.1\r\nHost: a\r\n\r\n"));
    EXPECT_EQ(absolute.status_line, "HTTP/1.1 200 OK");

    for (const std::string_view target : {"/metric", "/metrics/", "/METRICS", "*"}) {
        const auto reply = split(exchange("GET " + std::string(target) + " HTTP/1.1\r\nHost: a\r\n\r\n"));
        EXPECT_EQ(reply.status_line, "HTTP/1.1 404 Not Found") << target;
    }
    for (const std::string_view method : {"POST", "PUT", "DELETE", "OPTIONS", "get"}) {
        const auto reply = split(exchange(std::string(method) + " /metrics HTTP/1.1\r\nHost: a\r\n\r\n"));
        EXPECT_EQ(reply.status_line, "HTTP/1.1 405 Method Not Allowed") << method;
        EXPECT_EQ(field(reply, "Allow"), "GET, HEAD");
    }
}

TEST_F(AdminFixture, MalformedRequestsGetTheParsersStatus) {
    start();
    EXPECT_EQ(split(exchange("GARBAGE\r\n\r\n")).status_line, "HTTP/1.1 400 Bad Request");
    EXPECT_EQ(split(exchange("\x16\x03\x01\x02\x05hello")).status_line, "HTTP/1.1 400 Bad Request");
    EXPECT_EQ(split(exchange("GET /metrics HTTP/1.1\r\n\r\n")).status_line, "HTTP/1.1 400 Bad Request");
    EXPECT_EQ(
        split(exchange("POST /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbody")).status_line,
        "HTTP/1.1 413 Content Too Large");
    EXPECT_EQ(split(exchange("GET / HTTP/2.0\r\n\r\n")).status_line,
              "HTTP/1.1 505 HTTP Version Not Supported");
    const std::string huge = "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(16 * 1024, 'x') + "\r\n\r\n";
    auto s = connect_client();
    asio::error_code ec;
    asio::write(s, asio::buffer(huge), ec);  // the server may close before taking it all
    EXPECT_EQ(split(read_to_eof(s)).status_line, "HTTP/1.1 431 Request Header Fields Too Large");
}

TEST_F(AdminFixture, RequestSentByteByByte) {
    start();
    auto s = connect_client();
    for (const char c : std::string_view("GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n")) {
        asio::write(s, asio::buffer(&c, 1));
        std::this_thread::sleep_for(1ms);
    }
    EXPECT_EQ(split(read_to_eof(s)).status_line, "HTTP/1.1 200 OK");
}

// On manual time: the deadline is checked exactly, and a loaded machine cannot make it flake.
TEST_F(AdminFixture, SlowHeadIsClosedAtTheDeadline) {
    net::ManualTime& time = time_.emplace();
    AdminOptions options;
    options.head_timeout = 200ms;
    start(options);
    auto s = connect_client();
    asio::write(s, asio::buffer(std::string_view("GET /metrics HTTP/1.1\r\n")));
    ASSERT_TRUE(eventually([&] { return server_->active_connections() == 1; }));
    time.advance(199ms);
    ::pollfd pfd{s.native_handle(), POLLIN, 0};
    EXPECT_EQ(::poll(&pfd, 1, 50), 0) << "closed before the deadline";
    time.advance(1ms);
    EXPECT_EQ(read_to_eof(s), "");  // closed without an answer
    EXPECT_TRUE(eventually([&] { return server_->active_connections() == 0; }));
}

TEST_F(AdminFixture, ConnectionsOverTheLimitAreClosedAtOnce) {
    AdminOptions options;
    options.max_connections = 2;
    start(options);
    auto idle1 = connect_client();
    auto idle2 = connect_client();
    ASSERT_TRUE(eventually([&] { return server_->active_connections() == 2; }));

    auto over = connect_client();
    asio::error_code ec;
    asio::write(over, asio::buffer(std::string_view("GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n")), ec);
    EXPECT_EQ(read_to_eof(over), "");
    EXPECT_TRUE(eventually([&] { return server_->rejected_connections() == 1; }));

    idle1.close();
    ASSERT_TRUE(eventually([&] { return server_->active_connections() == 1; }));
    EXPECT_EQ(split(exchange("GET / HTTP/1.1\r\nHost: a\r\n\r\n")).status_line, "HTTP/1.1 200 OK");
    EXPECT_EQ(server_->rejected_connections(), 1u);
}

TEST_F(AdminFixture, StopClosesOpenConnections) {
    start();
    auto idle = connect_client();
    ASSERT_TRUE(eventually([&] { return server_->active_connections() == 1; }));
    asio::post(io_, [this] { server_->stop(); });
    EXPECT_EQ(read_to_eof(idle), "");
    EXPECT_TRUE(eventually([&] { return server_->active_connections() == 0; }));
    tcp::socket late(client_io_);
    asio::error_code ec;
    late.connect(endpoint_, ec);
    EXPECT_TRUE(ec) << "still accepting after stop()";
}

TEST_F(AdminFixture, ListenReportsErrors) {
    start();
    AdminServer second(io_, registry_);
    std::string error;
    const auto result = second.listen(endpoint_, error);  // the port is taken
    EXPECT_FALSE(result.ok());
    EXPECT_FALSE(error.empty());
}

// Runs a shell command; returns its exit status and stdout.
std::pair<int, std::string> run_command(const std::string& command) {
    std::string out;
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) return {-1, out};
    std::array<char, 4096> chunk;
    std::size_t n = 0;
    while ((n = std::fread(chunk.data(), 1, chunk.size(), pipe)) > 0)
        out.append(chunk.data(), n);
    const int status = pclose(pipe);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

bool have_tool(const std::string& name) {
    return run_command("command -v " + name + " >/dev/null 2>&1").first == 0;
}

// A real HTTP client, as a scraper would talk to us.
TEST_F(AdminFixture, CurlScrapes) {
    if (!have_tool("curl")) GTEST_SKIP() << "curl not installed";
    start();
    const std::string url = "http://127.0.0.1:" + std::to_string(endpoint_.port());
    const auto [status, body] = run_command("curl -sS --max-time 10 " + url + "/metrics");
    EXPECT_EQ(status, 0);
    EXPECT_EQ(body, registry_.expose());
    const auto [head_status, code] =
        run_command("curl -sS --max-time 10 -o /dev/null -w '%{http_code}' " + url + "/nope");
    EXPECT_EQ(head_status, 0);
    EXPECT_EQ(code, "404");
    const auto [post_status, post_code] =
        run_command("curl -sS --max-time 10 -o /dev/null -w '%{http_code}' -X POST " + url + "/metrics");
    EXPECT_EQ(post_status, 0);
    EXPECT_EQ(post_code, "405");
}

// promtool (Debian package prometheus) validates the exposition format the way the Prometheus server
// parses it, including its lint rules (counter suffixes, help text).
TEST_F(AdminFixture, PromtoolAcceptsTheExposition) {
    if (!have_tool("promtool") || !have_tool("curl")) GTEST_SKIP() << "promtool or curl not installed";
    registry_.counter("sg_test_bytes_total", "Bytes relayed, by direction.", {{"direction", "up"}}).inc(10);
    registry_.counter("sg_test_bytes_total", "", {{"direction", "down\\\n\""}}).inc(20);
    registry_.gauge_callback("sg_test_active", "Active, from a callback.", [] { return 4.0; });
    registry_.gauge("sg_test_nan", "Not a number.").set(std::numeric_limits<double>::quiet_NaN());
    registry_.gauge("sg_test_inf", "Infinite.").set(-std::numeric_limits<double>::infinity());
    start();
    const std::string url = "http://127.0.0.1:" + std::to_string(endpoint_.port()) + "/metrics";
    const auto [status, out] =
        run_command("curl -sS --max-time 10 " + url + " | promtool check metrics 2>&1");
    EXPECT_EQ(status, 0) << out;
    EXPECT_EQ(out, "") << "promtool found problems";
}

// An API handler that says what it was asked.
void add_echo_api(AdminServer& server) {
    server.add_api("/api/v1/echo", [](ApiRequest request) -> asio::awaitable<ApiResponse> {
        co_return ApiResponse{200, request.method + " " + request.path + " ? " + request.query,
                              "application/json"};
    });
}

TEST_F(AdminFixture, ApiPathsGoToTheirHandler) {
    start({}, add_echo_api);
    const auto get = exchange("GET /api/v1/echo/abc?limit=3 HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_NE(get.find("HTTP/1.1 200"), std::string::npos) << get;
    EXPECT_NE(get.find("GET /api/v1/echo/abc ? limit=3"), std::string::npos) << get;
    EXPECT_NE(get.find("application/json"), std::string::npos);
    const auto other = exchange("GET /api/v1/other HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_NE(other.find("HTTP/1.1 404"), std::string::npos) << other;
    EXPECT_NE(exchange("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").find("HTTP/1.1 200"), std::string::npos);
}

TEST_F(AdminFixture, WithoutATokenTheApiIsReadOnly) {
    start({}, add_echo_api);
    const auto del = exchange("DELETE /api/v1/echo/abc HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_NE(del.find("HTTP/1.1 403"), std::string::npos) << del;
    EXPECT_EQ(del.find("DELETE /api"), std::string::npos);  // the handler never ran
}

TEST_F(AdminFixture, ChangesNeedTheBearerToken) {
    AdminOptions options;
    options.token = "0123456789abcdef-token";
    start(options, add_echo_api);
    const auto none = exchange("DELETE /api/v1/echo/abc HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_NE(none.find("HTTP/1.1 401"), std::string::npos) << none;
    EXPECT_NE(none.find("WWW-Authenticate: Bearer"), std::string::npos);
    const auto wrong = exchange(
        "DELETE /api/v1/echo/abc HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
        "0123456789abcdef-tokeN\r\n\r\n");
    EXPECT_NE(wrong.find("HTTP/1.1 401"), std::string::npos) << wrong;
    const auto right = exchange(
        "DELETE /api/v1/echo/abc HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
        "0123456789abcdef-token\r\n\r\n");
    EXPECT_NE(right.find("HTTP/1.1 200"), std::string::npos) << right;
    EXPECT_NE(right.find("DELETE /api/v1/echo/abc"), std::string::npos);
    // Reading needs no token.
    EXPECT_NE(exchange("GET /api/v1/echo HTTP/1.1\r\nHost: x\r\n\r\n").find("HTTP/1.1 200"),
              std::string::npos);
}

TEST(QueryParameter, FindsNamedValues) {
    EXPECT_EQ(query_parameter("offset=5&limit=10", "limit"), "10");
    EXPECT_EQ(query_parameter("offset=5&limit=10", "offset"), "5");
    EXPECT_EQ(query_parameter("flag&x=", "x"), "");
    EXPECT_FALSE(query_parameter("offset=5", "limit"));
    EXPECT_FALSE(query_parameter("", "limit"));
}

TEST(ProcessMetrics, ExportSuppressedLogLinesAndUnhandledExceptions) {
    Registry registry;
    register_process_metrics(registry);
    net::report_unhandled(net::Unhandled::mount_report, std::make_exception_ptr(std::runtime_error("x")));
    const auto text = registry.expose();
    EXPECT_NE(text.find("streamgate_log_lines_suppressed_total "), std::string::npos) << text;
    const auto count = std::to_string(net::unhandled_count(net::Unhandled::mount_report));
    EXPECT_NE(text.find("streamgate_unhandled_exceptions_total{where=\"mount_report\"} " + count + "\n"),
              std::string::npos)
        << text;
}

}  // namespace
}  // namespace sg::metrics

namespace sg::metrics {
namespace {

TEST(PageRequest, DefaultsBoundsAndRefusals) {
    const auto fallback = page_request("");
    ASSERT_TRUE(fallback);
    EXPECT_EQ(fallback->offset, 0U);
    EXPECT_EQ(fallback->limit, 100U);
    const auto asked = page_request("limit=5&offset=10&x=y");
    ASSERT_TRUE(asked);
    EXPECT_EQ(asked->offset, 10U);
    EXPECT_EQ(asked->limit, 5U);
    EXPECT_EQ(page_request("limit=1000")->limit, 1000U);
    for (const std::string_view bad : {"limit=0", "limit=1001", "limit=-1", "offset=x", "limit="})
        EXPECT_FALSE(page_request(bad)) << bad;
}

}  // namespace
}  // namespace sg::metrics
