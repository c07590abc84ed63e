// The RTSP proxy listener's connection caps on 127.0.0.1:0: players over max_connections_per_client get
// 503 with their CSeq, admitted players are served, and a player's close frees its place.
#include <gtest/gtest.h>

#include <asio/post.hpp>
#include <asio/read_until.hpp>
#include <asio/write.hpp>
#include <future>
#include <string>
#include <thread>

#include "metrics/registry.hpp"
#include "proxy/rtsp_proxy.hpp"
#include "proxy_fixture.hpp"

namespace sg::proxy {
namespace {

using asio::ip::tcp;
using namespace std::chrono_literals;

class RtspProxyCaps : public testing::ProxyFixture {
protected:
    void start(server::RtspConnectionCaps caps) {
        RtspProxyOptions options;  // no mounts: OPTIONS is all the players need
        options.caps = caps;
        start_proxy(options, &registry_);
    }
    tcp::socket connect() {
        tcp::socket s(client_io_);
        s.connect(endpoint_);
        return s;
    }
    double busy() const {
        const auto text = registry_.expose();
        const std::string key = "\nstreamgate_rtsp_proxy_connections_busy_total ";
        const auto at = text.find(key);
        return at == std::string::npos ? -1 : std::stod(text.substr(at + key.size()));
    }

    metrics::Registry registry_;
};

// Sends OPTIONS with `cseq` and returns the response head ("" when the connection closed first).
std::string options(tcp::socket& s, int cseq) {
    const std::string request =
        "OPTIONS rtsp://127.0.0.1/ RTSP/1.0\r\nCSeq: " + std::to_string(cseq) + "\r\n\r\n";
    std::error_code ec;
    asio::write(s, asio::buffer(request), ec);
    std::string head;
    asio::read_until(s, asio::dynamic_buffer(head), "\r\n\r\n", ec);
    return ec ? "" : head;
}

TEST_F(RtspProxyCaps, APlayerOverThePerClientCapGets503WithItsCSeqAndAClose) {
    start({0, 1});
    auto first = connect();
    EXPECT_EQ(options(first, 1).rfind("RTSP/1.0 200 OK\r\n", 0), 0u);
    auto second = connect();
    const auto refused = options(second, 7);
    EXPECT_EQ(refused.rfind("RTSP/1.0 503 Service Unavailable\r\n", 0), 0u) << refused;
    EXPECT_NE(refused.find("\r\nCSeq: 7\r\n"), std::string::npos) << refused;
    EXPECT_NE(refused.find("\r\nRetry-After: "), std::string::npos) << refused;
    char byte = 0;
    std::error_code ec;
    second.read_some(asio::buffer(&byte, 1), ec);
    EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
    EXPECT_EQ(busy(), 1);

    // The first player's close gives its place back.
    first.close();
    bool admitted = false;
    for (int attempt = 0; attempt < 100 && !admitted; ++attempt) {
        auto again = connect();
        admitted = options(again, 2).rfind("RTSP/1.0 200 OK\r\n", 0) == 0;
        if (!admitted) std::this_thread::sleep_for(10ms);
    }
    EXPECT_TRUE(admitted);
}

TEST_F(RtspProxyCaps, NoCapsNoRefusals) {
    start({0, 0});
    std::vector<tcp::socket> players;
    for (int i = 0; i < 5; ++i) {
        players.push_back(connect());
        EXPECT_EQ(options(players.back(), i + 1).rfind("RTSP/1.0 200 OK\r\n", 0), 0u);
    }
    EXPECT_EQ(busy(), 0);
}

}  // namespace
}  // namespace sg::proxy
