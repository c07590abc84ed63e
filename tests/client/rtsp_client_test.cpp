// RtspClient against an in-process fake server on loopback: CSeq matching with stale replies and interleaved
// frames in between, the session id, Digest retries verified by the server-side code, timeouts and closes.
#include "client/rtsp_client.hpp"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <functional>
#include <string>
#include <vector>

#include "rtsp/auth.hpp"

namespace sg::client {
namespace {

using asio::ip::tcp;
using namespace std::chrono_literals;
constexpr auto k_use = asio::experimental::as_tuple(asio::use_awaitable);

// g++ 12 mishandles temporaries with destructors in a full-expression holding co_await, so every coroutine
// call below is created in one statement and awaited in the next, and results are checked afterwards.

// Answers each request with whatever `script` returns (raw bytes: replies, frames, junk); "" answers nothing.
using Script = std::function<std::string(const rtsp::Request&)>;

class FakeServer {
public:
    FakeServer(asio::io_context& io, Script script)
        : acceptor_(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0)), script_(std::move(script)) {
        asio::co_spawn(io, serve(), asio::detached);
    }
    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
    const std::vector<rtsp::Request>& requests() const { return requests_; }
    void close_client() {
        asio::error_code ignored;
        if (socket_) socket_->close(ignored);
    }

private:
    asio::awaitable<void> serve() {
        auto [accept_error, socket] = co_await acceptor_.async_accept(k_use);
        if (accept_error) co_return;
        socket_.emplace(std::move(socket));
        std::string buffer;
        char chunk[4096];
        for (;;) {
            auto [ec, n] = co_await socket_->async_read_some(asio::buffer(chunk), k_use);
            if (ec) co_return;
            buffer.append(chunk, n);
            for (;;) {
                auto parsed = rtsp::parse_item(std::string_view(buffer));
                if (!parsed.done()) break;
                buffer.erase(0, parsed.consumed);
                auto* request = std::get_if<rtsp::Request>(&parsed.value);
                if (request == nullptr) continue;
                requests_.push_back(*request);
                const auto answer = script_(*request);
                if (answer.empty()) continue;
                auto [write_error, written] =
                    co_await asio::async_write(*socket_, asio::buffer(answer), k_use);
                if (write_error) co_return;
            }
        }
    }

    tcp::acceptor acceptor_;
    Script script_;
    std::optional<tcp::socket> socket_;
    std::vector<rtsp::Request> requests_;
};

std::string cseq_of(const rtsp::Request& r) {
    const auto* v = r.headers.get("CSeq");
    return v != nullptr ? *v : "";
}

std::string reply(const rtsp::Request& r, int status = 200, std::string extra = "", std::string body = "") {
    std::string out = "RTSP/1.0 " + std::to_string(status) + " X\r\nCSeq: " + cseq_of(r) + "\r\n" + extra;
    if (!body.empty()) out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    return out + "\r\n" + body;
}

std::string frame(std::uint8_t channel, std::string_view payload) {
    std::string out{'$', static_cast<char>(channel), static_cast<char>(payload.size() >> 8),
                    static_cast<char>(payload.size() & 0xff)};
    return out + std::string(payload);
}

class RtspClientTest : public ::testing::Test {
protected:
    // Runs `body` as a coroutine on io_ until it finishes (bounded: a hang fails the test, not the suite).
    void run(std::function<asio::awaitable<void>()> body) {
        bool finished = false;
        asio::co_spawn(io_, body(), [&](const std::exception_ptr& e) {
            finished = true;
            if (e) std::rethrow_exception(e);
        });
        io_.run_for(20s);
        EXPECT_TRUE(finished);
    }

    rtsp::Url url(std::uint16_t port, std::string userinfo = "") {
        return *rtsp::parse_url("rtsp://" + userinfo + "127.0.0.1:" + std::to_string(port) + "/a");
    }

    asio::io_context io_;
};

TEST_F(RtspClientTest, MatchesTheReplyByCSeqAndHandsOverFramesMeanwhile) {
    FakeServer server(io_, [](const rtsp::Request& r) {
        // A stale reply, a frame, then the real answer with a body.
        return "RTSP/1.0 200 OK\r\nCSeq: 999\r\n\r\n" + frame(3, "abc") +
               reply(r, 200, "Content-Type: application/sdp\r\n", "v=0\r\n");
    });
    std::vector<std::pair<int, std::string>> frames;
    run([&]() -> asio::awaitable<void> {
        RtspClient client(io_.get_executor());
        client.set_frame_handler([&](std::uint8_t channel, Bytes payload) {
            frames.emplace_back(channel, std::string(payload.begin(), payload.end()));
        });
        auto connecting = client.connect(url(server.port()), {});
        const bool connected = co_await std::move(connecting);
        EXPECT_TRUE(connected) << client.error();
        auto r_pending = client.request("DESCRIBE", "rtsp://127.0.0.1/a");
        auto r = co_await std::move(r_pending);
        EXPECT_TRUE(r.has_value()) << client.error();
        if (r) {
            EXPECT_EQ(r->status, 200);
            EXPECT_EQ(r->body, "v=0\r\n");
        }
        client.close();
    });
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0], (std::pair<int, std::string>{3, "abc"}));
    ASSERT_EQ(server.requests().size(), 1u);
    EXPECT_EQ(server.requests()[0].method, "DESCRIBE");
}

TEST_F(RtspClientTest, KeepsTheSessionIdAndSendsItWithLaterRequests) {
    FakeServer server(io_, [](const rtsp::Request& r) {
        return reply(r, 200, r.method == "SETUP" ? "Session: 12345678;timeout=60\r\n" : "");
    });
    run([&]() -> asio::awaitable<void> {
        RtspClient client(io_.get_executor());
        auto connecting = client.connect(url(server.port()), {});
        const bool connected = co_await std::move(connecting);
        EXPECT_TRUE(connected) << client.error();
        for (const char* method : {"OPTIONS", "SETUP", "PLAY"}) {
            auto r_pending = client.request(method, "rtsp://127.0.0.1/a");
            auto r = co_await std::move(r_pending);
            EXPECT_TRUE(r.has_value()) << method << ": " << client.error();
        }
        EXPECT_EQ(client.session(), "12345678");
    });
    const auto& requests = server.requests();
    ASSERT_EQ(requests.size(), 3u);
    EXPECT_EQ(requests[0].headers.get("Session"), nullptr);
    EXPECT_EQ(requests[1].headers.get("Session"), nullptr);
    ASSERT_NE(requests[2].headers.get("Session"), nullptr);
    EXPECT_EQ(*requests[2].headers.get("Session"), "12345678");
    // CSeq increases with every request.
    EXPECT_EQ(cseq_of(requests[0]), "1");
    EXPECT_EQ(cseq_of(requests[2]), "3");
}

TEST_F(RtspClientTest, AnswersADigestChallengeWithTheUrlCredentials) {
    FakeServer server(io_, [](const rtsp::Request& r) {
        const auto* authorization = r.headers.get("Authorization");
        if (authorization == nullptr)
            return reply(r, 401, "WWW-Authenticate: Digest realm=\"t\", nonce=\"n0nce\", qop=\"auth\"\r\n");
        const auto parsed = rtsp::parse_authorization(*authorization);
        const auto* digest = parsed ? std::get_if<rtsp::DigestCredentials>(&*parsed) : nullptr;
        const bool good =
            digest != nullptr && digest->uri == r.uri && rtsp::verify_digest(*digest, "s3cret", r.method);
        return reply(r, good ? 200 : 403);
    });
    run([&]() -> asio::awaitable<void> {
        RtspClient client(io_.get_executor());
        auto connecting = client.connect(url(server.port(), "alice:s3cret@"), {});
        const bool connected = co_await std::move(connecting);
        EXPECT_TRUE(connected) << client.error();
        auto first_pending = client.request("DESCRIBE", "rtsp://127.0.0.1/a");
        auto first = co_await std::move(first_pending);
        EXPECT_TRUE(first && first->status == 200);
        // Later requests are authorized up front.
        auto second_pending = client.request("SETUP", "rtsp://127.0.0.1/a/stream=0");
        auto second = co_await std::move(second_pending);
        EXPECT_TRUE(second && second->status == 200);
    });
    EXPECT_EQ(server.requests().size(), 3u);  // DESCRIBE, DESCRIBE with credentials, SETUP
}

TEST_F(RtspClientTest, WrongCredentialsEndWithThe401) {
    FakeServer server(
        io_, [](const rtsp::Request& r) { return reply(r, 401, "WWW-Authenticate: Basic realm=\"t\"\r\n"); });
    run([&]() -> asio::awaitable<void> {
        RtspClient client(io_.get_executor());
        auto connecting = client.connect(url(server.port(), "alice:bad@"), {});
        const bool connected = co_await std::move(connecting);
        EXPECT_TRUE(connected) << client.error();
        auto r_pending = client.request("DESCRIBE", "rtsp://127.0.0.1/a");
        auto r = co_await std::move(r_pending);
        EXPECT_TRUE(r && r->status == 401);
    });
    EXPECT_EQ(server.requests().size(), 2u);  // one retry, not a loop
}

TEST_F(RtspClientTest, ASilentServerTimesOut) {
    FakeServer server(io_, [](const rtsp::Request&) { return std::string(); });
    run([&]() -> asio::awaitable<void> {
        RtspClient client(io_.get_executor());
        ConnectOptions options;
        options.timeout = 300ms;
        auto connecting = client.connect(url(server.port()), options);
        const bool connected = co_await std::move(connecting);
        EXPECT_TRUE(connected) << client.error();
        auto r_pending = client.request("OPTIONS", "*");
        auto r = co_await std::move(r_pending);
        EXPECT_FALSE(r.has_value());
        EXPECT_EQ(client.error(), "timeout");
    });
}

TEST_F(RtspClientTest, GarbageFromTheServerIsAnError) {
    FakeServer server(io_, [](const rtsp::Request&) { return std::string("HTTP/1.1 200 OK\r\n\r\n"); });
    run([&]() -> asio::awaitable<void> {
        RtspClient client(io_.get_executor());
        auto connecting = client.connect(url(server.port()), {});
        const bool connected = co_await std::move(connecting);
        EXPECT_TRUE(connected) << client.error();
        auto r_pending = client.request("OPTIONS", "*");
        auto r = co_await std::move(r_pending);
        EXPECT_FALSE(r.has_value());
        EXPECT_EQ(client.error(), "bad RTSP from server");
    });
}

TEST_F(RtspClientTest, ConnectRefused) {
    std::uint16_t port = 0;
    {
        tcp::acceptor probe(io_, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
        port = probe.local_endpoint().port();
    }  // closed: nothing listens there now
    run([&]() -> asio::awaitable<void> {
        RtspClient client(io_.get_executor());
        auto connecting = client.connect(url(port), {});
        const bool connected = co_await std::move(connecting);
        EXPECT_FALSE(connected) << client.error();
        EXPECT_EQ(client.error(), "connect refused");
    });
}

// After the frames of one read have all gone to the frame handler, the frames-done handler runs once (a
// mount's receive batch ends there): after a frame, never twice in a row, and last.
TEST_F(RtspClientTest, SaysWhenTheFramesOfAReadAreDone) {
    FakeServer server(io_, [](const rtsp::Request& r) {
        return reply(r) + frame(0, "rtp-1") + frame(1, "rtcp") + frame(0, "rtp-2");
    });
    std::vector<std::string> events;
    run([&]() -> asio::awaitable<void> {
        RtspClient client(io_.get_executor());
        client.set_frame_handler([&](std::uint8_t channel, Bytes p) {
            events.push_back(std::to_string(channel) + ":" + std::string(p.begin(), p.end()));
        });
        client.set_frames_done_handler([&] { events.emplace_back("done"); });
        auto connecting = client.connect(url(server.port()), {});
        const bool connected = co_await std::move(connecting);
        EXPECT_TRUE(connected) << client.error();
        auto r_pending = client.request("PLAY", "rtsp://127.0.0.1/a");
        EXPECT_TRUE((co_await std::move(r_pending)).has_value());
        const bool pumped = co_await client.pump_until(RtspClient::Clock::now() + 200ms);
        EXPECT_TRUE(pumped);
        client.close();
    });
    ASSERT_FALSE(events.empty());
    EXPECT_NE(events.front(), "done");
    EXPECT_EQ(events.back(), "done");
    std::vector<std::string> frames;
    for (std::size_t i = 0; i < events.size(); ++i) {
        if (events[i] != "done") frames.push_back(events[i]);
        if (i > 0 && events[i] == "done") {
            EXPECT_NE(events[i - 1], "done") << i;
        }
    }
    EXPECT_EQ(frames, (std::vector<std::string>{"0:rtp-1", "1:rtcp", "0:rtp-2"}));
}

TEST_F(RtspClientTest, PumpDeliversFramesUntilTheDeadlineAndNoticesAClose) {
    FakeServer server(io_, [](const rtsp::Request& r) {
        return reply(r) + frame(0, "rtp-1") + frame(1, "rtcp") + frame(0, "rtp-2");
    });
    std::vector<std::string> frames;
    run([&]() -> asio::awaitable<void> {
        RtspClient client(io_.get_executor());
        client.set_frame_handler([&](std::uint8_t channel, Bytes p) {
            frames.push_back(std::to_string(channel) + ":" + std::string(p.begin(), p.end()));
        });
        auto connecting = client.connect(url(server.port()), {});
        const bool connected = co_await std::move(connecting);
        EXPECT_TRUE(connected) << client.error();
        auto r_pending = client.request("PLAY", "rtsp://127.0.0.1/a");
        auto r = co_await std::move(r_pending);
        EXPECT_TRUE(r.has_value());
        {
            const bool pumped = co_await client.pump_until(RtspClient::Clock::now() + 200ms);
            EXPECT_TRUE(pumped);
        }
        server.close_client();
        {
            const bool pumped = co_await client.pump_until(RtspClient::Clock::now() + 5s);
            EXPECT_FALSE(pumped);
        }
        EXPECT_EQ(client.error(), "connection closed");
    });
    EXPECT_EQ(frames, (std::vector<std::string>{"0:rtp-1", "1:rtcp", "0:rtp-2"}));
}

// The read buffer starts small and grows: a body far larger than it, and a burst of frames that fills every
// read, must arrive whole and in order.
TEST_F(RtspClientTest, LargeRepliesAndFrameBurstsOutgrowTheReadBufferIntact) {
    std::string body;
    for (int i = 0; body.size() < 100'000; ++i)
        body += "a=x-line:" + std::to_string(i) + "\r\n";
    std::string burst;
    for (int i = 0; i < 200; ++i)
        burst += frame(static_cast<std::uint8_t>(i % 2), std::string(1400, static_cast<char>('a' + i % 26)));
    FakeServer server(io_, [&](const rtsp::Request& r) {
        return r.method == "DESCRIBE" ? reply(r, 200, "", body) : reply(r) + burst;
    });
    std::vector<std::string> frames;
    run([&]() -> asio::awaitable<void> {
        RtspClient client(io_.get_executor());
        client.set_frame_handler([&](std::uint8_t channel, Bytes p) {
            frames.push_back(std::to_string(channel) + ":" + std::string(p.begin(), p.end()));
        });
        auto connecting = client.connect(url(server.port()), {});
        const bool connected = co_await std::move(connecting);
        EXPECT_TRUE(connected) << client.error();
        auto describing = client.request("DESCRIBE", "rtsp://127.0.0.1/a");
        auto described = co_await std::move(describing);
        EXPECT_TRUE(described.has_value()) << client.error();
        if (described) {
            EXPECT_EQ(described->body, body);
        }
        auto playing = client.request("PLAY", "rtsp://127.0.0.1/a");
        auto played = co_await std::move(playing);
        EXPECT_TRUE(played.has_value()) << client.error();
        while (frames.size() < 200) {
            const bool pumped = co_await client.pump_until(RtspClient::Clock::now() + 5s);
            if (!pumped) break;
        }
        client.close();
    });
    ASSERT_EQ(frames.size(), 200u);
    for (std::size_t i = 0; i < frames.size(); ++i) {
        const std::string expected =
            std::to_string(i % 2) + ":" + std::string(1400, static_cast<char>('a' + i % 26));
        ASSERT_EQ(frames[i], expected) << "frame " << i;
    }
}

}  // namespace
}  // namespace sg::client
