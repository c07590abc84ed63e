// RTSP tunnelled in HTTP on a real loopback listener: the GET and its POSTs accepted on different event
// loops (as serve spreads connections), requests split anywhere in the base64 answered on the GET, 461 to
// a SETUP that cannot be interleaved, a second POST after the first ends, the POST closed with its GET.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <array>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/write.hpp>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "rtsp/auth.hpp"
#include "rtsp_server/rtsp_server_connection.hpp"

namespace sg::server {
namespace {

using asio::ip::tcp;

TEST(TunnelTransport, KeepsOnlyTheInterleavedSpecs) {
    EXPECT_EQ(tunnel_transport("RTP/AVP;unicast;client_port=4000-4001,RTP/AVP/TCP;unicast;interleaved=0-1"),
              "RTP/AVP/TCP;unicast;interleaved=0-1");
    EXPECT_EQ(tunnel_transport("RTP/AVP/TCP;unicast;interleaved=2-3"), "RTP/AVP/TCP;unicast;interleaved=2-3");
    EXPECT_EQ(tunnel_transport("RTP/AVP;unicast;client_port=4000-4001"), std::nullopt);
    EXPECT_EQ(tunnel_transport("RTP/AVP;multicast"), std::nullopt);
    EXPECT_EQ(tunnel_transport(";;;"), ";;;");  // left to the handler, which answers what it cannot parse
}

// Answers every request 200, naming the method and the Transport it was given.
class EchoConnection : public RtspServerConnection {
public:
    EchoConnection(tcp::socket socket, std::atomic<int>& handled)
        : RtspServerConnection(std::move(socket), 1 << 20, std::chrono::seconds(60)), handled_(handled) {}

protected:
    asio::awaitable<rtsp::Response> handle(const rtsp::Request& request) override {
        ++handled_;
        auto response = status_reply(200);
        response.headers.set("X-Method", request.method);
        if (const auto* transport = request.headers.get("Transport"))
            response.headers.set("Transport", *transport);
        co_return response;
    }
    std::size_t expire_sessions(Clock::time_point, Clock::duration) override { return 0; }
    void on_close(std::string_view) override {}

private:
    std::atomic<int>& handled_;
};

class TunnelFixture : public ::testing::Test {
protected:
    void SetUp() override {
        acceptor_.open(tcp::v4());
        acceptor_.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        acceptor_.listen();
        accept_next();
        for (auto& loop : loops_)
            threads_.emplace_back([&loop] { loop.run(); });
    }
    void TearDown() override {
        for (auto& guard : work_)
            guard.reset();
        for (auto& loop : loops_)
            loop.stop();
        for (auto& thread : threads_)
            thread.join();
        // The pending accept sits in loop 0 but holds a socket of loop 1, which is destroyed first: let the
        // aborted accept (and whatever else is ready) finish while both loops still exist.
        acceptor_.close();
        for (int round = 0; round < 3; ++round) {
            for (auto& loop : loops_) {
                loop.restart();
                loop.poll();
            }
        }
    }
    // Accepted sockets alternate between the two loops.
    void accept_next() {
        acceptor_.async_accept(loops_[next_++ % 2], [this](std::error_code ec, tcp::socket socket) {
            if (ec) return;
            std::make_shared<EchoConnection>(std::move(socket), handled_)->start();
            accept_next();
        });
    }
    tcp::socket connect() {
        tcp::socket s(client_io_);
        s.connect(acceptor_.local_endpoint());
        const timeval timeout{5, 0};  // a broken server fails the test instead of hanging it
        ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        return s;
    }

    std::array<asio::io_context, 2> loops_;
    std::array<asio::executor_work_guard<asio::io_context::executor_type>, 2> work_{
        asio::make_work_guard(loops_[0]), asio::make_work_guard(loops_[1])};
    asio::io_context client_io_;
    tcp::acceptor acceptor_{loops_[0]};
    std::size_t next_ = 0;
    std::atomic<int> handled_{0};
    std::vector<std::thread> threads_;
};

// Reads until `end` has arrived (or the peer closes or the read times out); returns what came.
std::string read_until(tcp::socket& s, std::string_view end, std::string& buffer) {
    while (buffer.find(end) == std::string::npos) {
        std::array<char, 4096> chunk{};
        std::error_code ec;
        const auto n = s.read_some(asio::buffer(chunk), ec);
        if (ec) break;
        buffer.append(chunk.data(), n);
    }
    const auto at = buffer.find(end);
    if (at == std::string::npos) return std::exchange(buffer, {});
    std::string out = buffer.substr(0, at + end.size());
    buffer.erase(0, at + end.size());
    return out;
}

// Sends `text` base64-encoded in pieces of `piece` characters (splitting quanta and lines anywhere).
void post_split(tcp::socket& post, std::string_view text, std::size_t piece) {
    const auto encoded = rtsp::base64_encode(text);
    for (std::size_t at = 0; at < encoded.size(); at += piece) {
        asio::write(post, asio::buffer(encoded.substr(at, piece)));
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

tcp::socket open_post(TunnelFixture* /*unused*/, tcp::socket post, std::string_view cookie) {
    const std::string head =
        "POST /a HTTP/1.0\r\nx-sessioncookie: " + std::string(cookie) +
        "\r\nContent-Type: application/x-rtsp-tunnelled\r\nContent-Length: 32767\r\n\r\n";
    asio::write(post, asio::buffer(head));
    return post;
}

TEST_F(TunnelFixture, RequestsPostedInPiecesAreAnsweredOnTheGet) {
    auto get = connect();
    asio::write(
        get, asio::buffer(std::string_view(
                 "GET /a HTTP/1.0\r\nx-sessioncookie: k1\r\nAccept: application/x-rtsp-tunnelled\r\n\r\n")));
    std::string in;
    const auto head = read_until(get, "\r\n\r\n", in);
    ASSERT_TRUE(head.starts_with("HTTP/1.0 200 OK\r\n")) << head;
    EXPECT_NE(head.find("Content-Type: application/x-rtsp-tunnelled"), std::string::npos);

    auto post = open_post(this, connect(), "k1");
    post_split(
        post, "OPTIONS rtsp://h/a RTSP/1.0\r\nCSeq: 1\r\n\r\nDESCRIBE rtsp://h/a RTSP/1.0\r\nCSeq: 2\r\n\r\n",
        3);
    const auto options = read_until(get, "\r\n\r\n", in);
    EXPECT_TRUE(options.starts_with("RTSP/1.0 200 OK\r\n")) << options;
    EXPECT_NE(options.find("CSeq: 1\r\n"), std::string::npos) << options;
    EXPECT_NE(options.find("X-Method: OPTIONS\r\n"), std::string::npos) << options;
    const auto describe = read_until(get, "\r\n\r\n", in);
    EXPECT_NE(describe.find("X-Method: DESCRIBE\r\n"), std::string::npos) << describe;

    post_split(
        post,
        "SETUP rtsp://h/a/1 RTSP/1.0\r\nCSeq: 3\r\nTransport: RTP/AVP;unicast;client_port=4000-4001\r\n\r\n",
        7);
    const auto udp = read_until(get, "\r\n\r\n", in);
    EXPECT_TRUE(udp.starts_with("RTSP/1.0 461 Unsupported transport\r\n")) << udp;
    EXPECT_NE(udp.find("CSeq: 3\r\n"), std::string::npos) << udp;
    post_split(post,
               "SETUP rtsp://h/a/1 RTSP/1.0\r\nCSeq: 4\r\nTransport: RTP/AVP;unicast;client_port=4000-4001,"
               "RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n",
               11);
    const auto tcp_setup = read_until(get, "\r\n\r\n", in);
    EXPECT_NE(tcp_setup.find("Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n"), std::string::npos)
        << tcp_setup;
    EXPECT_EQ(handled_.load(), 3);  // the 461 never reached the handler

    // The client may end its POST and open another one with the same cookie.
    post.close();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto second = open_post(this, connect(), "k1");
    post_split(second, "OPTIONS rtsp://h/a RTSP/1.0\r\nCSeq: 5\r\n\r\n", 5);
    const auto again = read_until(get, "\r\n\r\n", in);
    EXPECT_NE(again.find("CSeq: 5\r\n"), std::string::npos) << again;

    // Its GET gone, the POST is closed too.
    get.close();
    std::string rest;
    EXPECT_EQ(read_until(second, "never", rest), "");
}

TEST_F(TunnelFixture, GarbageInAPostEndsItsTunnelOnly) {
    auto good = connect();
    asio::write(good, asio::buffer(std::string_view("GET /a HTTP/1.0\r\nx-sessioncookie: good\r\n\r\n")));
    std::string good_in;
    read_until(good, "\r\n\r\n", good_in);
    auto good_post = open_post(this, connect(), "good");

    auto bad = connect();
    asio::write(bad, asio::buffer(std::string_view("GET /a HTTP/1.0\r\nx-sessioncookie: bad\r\n\r\n")));
    std::string bad_in;
    read_until(bad, "\r\n\r\n", bad_in);
    auto bad_post = open_post(this, connect(), "bad");
    asio::write(bad_post, asio::buffer(std::string_view("T1BU*garbage*")));
    std::string rest;
    EXPECT_EQ(read_until(bad, "never", rest), "");  // the GET is closed at once, not at the POST deadline

    post_split(good_post, "OPTIONS rtsp://h/a RTSP/1.0\r\nCSeq: 9\r\n\r\n", 4);
    const auto reply = read_until(good, "\r\n\r\n", good_in);
    EXPECT_NE(reply.find("CSeq: 9\r\n"), std::string::npos) << reply;
}

TEST_F(TunnelFixture, BadHeadsAreAnsweredInHttp) {
    struct Case {
        std::string_view head;
        std::string_view status_line;
    };
    const Case cases[] = {
        {"GET /a HTTP/1.0\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
        {"POST /a HTTP/1.0\r\nx-sessioncookie: nobody\r\n\r\n", "HTTP/1.1 404 Not Found\r\n"},
        {"DELETE /a HTTP/1.0\r\nx-sessioncookie: x\r\n\r\n", "HTTP/1.1 405 Method Not Allowed\r\n"},
    };
    for (const auto& c : cases) {
        auto s = connect();
        asio::write(s, asio::buffer(c.head));
        std::string in;
        const auto reply = read_until(s, "never", in);
        EXPECT_TRUE(reply.starts_with(c.status_line)) << c.head << " -> " << reply;
    }
    // A plain RTSP connection is untouched.
    auto rtsp = connect();
    asio::write(rtsp, asio::buffer(std::string_view("OPTIONS * RTSP/1.0\r\nCSeq: 3\r\n\r\n")));
    std::string in;
    const auto reply = read_until(rtsp, "\r\n\r\n", in);
    EXPECT_TRUE(reply.starts_with("RTSP/1.0 200 OK\r\n")) << reply;
}

}  // namespace
}  // namespace sg::server
