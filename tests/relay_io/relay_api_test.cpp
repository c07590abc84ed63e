// The relay's admin API against a real shard and admin listener on loopback.
#include "relay_io/relay_api.hpp"

#include <gtest/gtest.h>

#include <array>
#include <asio/post.hpp>
#include <asio/write.hpp>
#include <thread>

#include "relay/address.hpp"

namespace sg::relay_io {
namespace {

using asio::ip::tcp;

class RelayApi : public ::testing::Test {
protected:
    void SetUp() override {
        relay::RelaySettings settings;
        settings.interfaces = {{"", *relay::parse_ip("127.0.0.1")}};
        settings.port_min = 35000;
        settings.port_max = 35099;
        shards_.push_back(std::make_unique<Shard>(settings, "", ""));
        // A call, made before the shard's thread runs (so on "its" thread).
        relay::Request offer;
        offer.op = relay::Op::offer;
        offer.call_id = "call/1@example.org";
        offer.speaker_tag = "alice";
        offer.sdp =
            "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP "
            "0\r\n";
        ASSERT_FALSE(shards_[0]->handle(offer).error);

        context_.version = "test";
        context_.started = std::chrono::steady_clock::now();
        context_.shards = &shards_;
        metrics::AdminOptions options;
        options.token = "relay-api-test-token";
        admin_ = std::make_unique<metrics::AdminServer>(admin_io_, registry_, options);
        add_relay_api(*admin_, context_);
        std::string error;
        const auto bound = admin_->listen(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0), error);
        ASSERT_TRUE(bound.ok()) << error;
        endpoint_ = *bound;
        shard_thread_ = std::thread([this] { shards_[0]->io().run(); });
        admin_thread_ = std::thread([this] { admin_io_.run(); });
    }

    void TearDown() override {
        asio::post(admin_io_, [this] { admin_->stop(); });
        admin_guard_.reset();
        admin_io_.stop();
        shard_guard_.reset();
        shards_[0]->io().stop();
        if (admin_thread_.joinable()) admin_thread_.join();
        if (shard_thread_.joinable()) shard_thread_.join();
    }

    std::string exchange(const std::string& request) {
        asio::io_context io;
        tcp::socket s(io);
        s.connect(endpoint_);
        asio::write(s, asio::buffer(request));
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

    metrics::Registry registry_;
    std::vector<std::unique_ptr<Shard>> shards_;
    ApiContext context_;
    asio::io_context admin_io_;
    asio::executor_work_guard<asio::io_context::executor_type> admin_guard_ =
        asio::make_work_guard(admin_io_);
    std::unique_ptr<metrics::AdminServer> admin_;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> shard_guard_;
    tcp::endpoint endpoint_;
    std::thread shard_thread_;
    std::thread admin_thread_;
};

TEST_F(RelayApi, ListsShowsAndEndsCalls) {
    shard_guard_.emplace(asio::make_work_guard(shards_[0]->io()));
    const auto list = exchange("GET /api/v1/relay/calls HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_NE(list.find("\"total\": 1"), std::string::npos) << list;
    EXPECT_NE(list.find("\"call_id\": \"call/1@example.org\""), std::string::npos);
    EXPECT_NE(list.find("\"tag\": \"alice\""), std::string::npos);

    const std::string one = "/api/v1/relay/calls/call%2F1%40example.org";
    EXPECT_NE(exchange("GET " + one + " HTTP/1.1\r\nHost: x\r\n\r\n").find("HTTP/1.1 200"),
              std::string::npos);
    const auto refused = exchange("DELETE " + one + " HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_NE(refused.find("HTTP/1.1 401"), std::string::npos) << refused;
    const auto ended = exchange("DELETE " + one +
                                " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer relay-api-test-token\r\n\r\n");
    EXPECT_NE(ended.find("HTTP/1.1 200"), std::string::npos) << ended;
    EXPECT_NE(exchange("GET " + one + " HTTP/1.1\r\nHost: x\r\n\r\n").find("HTTP/1.1 404"),
              std::string::npos);
    EXPECT_NE(exchange("GET /api/v1/relay/calls HTTP/1.1\r\nHost: x\r\n\r\n").find("\"total\": 0"),
              std::string::npos);
}

TEST_F(RelayApi, StatusAndBadRequests) {
    shard_guard_.emplace(asio::make_work_guard(shards_[0]->io()));
    const auto status = exchange("GET /api/v1/status HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_NE(status.find("\"service\": \"relay\""), std::string::npos) << status;
    EXPECT_NE(status.find("\"event_loops\": 1"), std::string::npos);
    // io_uring where this kernel allows it, epoll elsewhere: the status says which.
    EXPECT_TRUE(status.find("\"media_io\": \"io_uring\"") != std::string::npos ||
                status.find("\"media_io\": \"epoll\"") != std::string::npos)
        << status;
    EXPECT_NE(exchange("GET /api/v1/relay/calls?limit=0 HTTP/1.1\r\nHost: x\r\n\r\n").find("HTTP/1.1 400"),
              std::string::npos);
    EXPECT_NE(exchange("GET /api/v1/relay/calls/%zz HTTP/1.1\r\nHost: x\r\n\r\n").find("HTTP/1.1 400"),
              std::string::npos);
    EXPECT_NE(exchange("GET /api/v1/relay/calls/a/b HTTP/1.1\r\nHost: x\r\n\r\n").find("HTTP/1.1 404"),
              std::string::npos);
}

}  // namespace
}  // namespace sg::relay_io
