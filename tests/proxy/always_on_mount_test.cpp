// An always-on mount whose upstream is not there yet at start-up (an edge gateway started before its origin
// gateway, docs/scaling.md) keeps trying until the upstream appears, and answers players 502 meanwhile
// instead of keeping them waiting. It used to give up after the first failure until a player's DESCRIBE.
#include <gtest/gtest.h>

#include <asio/post.hpp>
#include <asio/read_until.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include "metrics/registry.hpp"
#include "proxy/rtsp_proxy.hpp"
#include "proxy_fixture.hpp"

namespace sg::proxy {
namespace {

using asio::ip::tcp;
using namespace std::chrono_literals;

// A loopback port that nothing listens on (bound, then closed again).
std::uint16_t free_port() {
    asio::io_context io;
    tcp::acceptor probe(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return probe.local_endpoint().port();
}

class AlwaysOnMount : public testing::ProxyFixture {
protected:
    void SetUp() override {
        upstream_port_ = free_port();
        RtspProxyOptions options;
        MountConfig mount;
        mount.name = "cam";
        mount.url = *rtsp::parse_url("rtsp://127.0.0.1:" + std::to_string(upstream_port_) + "/live");
        mount.transport = UpstreamTransport::tcp;
        mount.always_on = true;
        options.mounts.push_back(mount);
        options.timing.request_timeout = 500ms;
        start_proxy(options, &registry_);
    }
    double failed_attempts() {
        const auto exposed = on_io([this] { return registry_.expose(); });
        const std::string key = "\nstreamgate_rtsp_proxy_upstream_sessions_failed_total{mount=\"cam\"} ";
        const auto at = exposed.find(key);
        return at == std::string::npos ? 0 : std::stod(exposed.substr(at + key.size()));
    }
    // The status line of the proxy's answer to a player's DESCRIBE of the mount.
    std::string describe_status() {
        asio::io_context io;
        tcp::socket s(io);
        s.connect(endpoint_);
        const std::string request = "DESCRIBE rtsp://127.0.0.1:" + std::to_string(endpoint_.port()) +
                                    "/cam RTSP/1.0\r\nCSeq: 1\r\n\r\n";
        asio::write(s, asio::buffer(request));
        std::string head;
        std::error_code ec;
        asio::read_until(s, asio::dynamic_buffer(head), "\r\n", ec);
        return head.substr(0, head.find("\r\n"));
    }

    metrics::Registry registry_;
    std::uint16_t upstream_port_ = 0;
};

TEST_F(AlwaysOnMount, KeepsTryingAnUpstreamThatIsNotThereYet) {
    // The first attempt is refused (nothing listens); a player meanwhile is told at once.
    while (failed_attempts() < 1)
        std::this_thread::sleep_for(10ms);
    EXPECT_EQ(describe_status().rfind("RTSP/1.0 502", 0), 0u);

    // The upstream appears: the mount comes by on its own, with no player asking.
    asio::io_context upstream_io;
    tcp::acceptor acceptor(upstream_io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), upstream_port_));
    tcp::socket upstream(upstream_io);
    std::optional<std::error_code> accepted;
    acceptor.async_accept(upstream, [&](std::error_code ec) { accepted = ec; });
    // Bounded so that a mount that never retries fails the test instead of hanging it; the retry comes within
    // the 2 s back-off ceiling.
    upstream_io.run_for(20s);
    ASSERT_TRUE(accepted.has_value()) << "the always-on mount did not connect again";
    ASSERT_FALSE(*accepted) << accepted->message();
    std::string request;
    std::error_code ec;
    asio::read_until(upstream, asio::dynamic_buffer(request), "\r\n\r\n", ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(
        request.rfind("DESCRIBE rtsp://127.0.0.1:" + std::to_string(upstream_port_) + "/live RTSP/1.0", 0),
        0u)
        << request;
}

}  // namespace
}  // namespace sg::proxy
