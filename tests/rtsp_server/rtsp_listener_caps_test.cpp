// Connection caps of the RTSP listeners (serve, the gateway's RTSP proxy): the pure 503 answer, and the
// caps on a real loopback listener.
#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "rtsp_server/rtsp_server_connection.hpp"

namespace sg::server {
namespace {

using asio::ip::tcp;
using namespace std::chrono_literals;

TEST(BusyReply, AnswersTheFirstRequest503WithItsCSeqAndRetryAfter) {
    const auto reply = busy_reply("OPTIONS rtsp://h/a RTSP/1.0\r\nCSeq: 7\r\n\r\n", 10s);
    ASSERT_TRUE(reply.done());
    EXPECT_EQ(reply.value, "RTSP/1.0 503 Service Unavailable\r\nCSeq: 7\r\nRetry-After: 10\r\n\r\n");
}

TEST(BusyReply, WaitsForAWholeHeadAndRefusesWhatIsNotARequest) {
    EXPECT_TRUE(busy_reply("OPTIONS rtsp://h/a RTSP/1.0\r\nCSeq: 7\r\n", 10s).need_more());
    EXPECT_TRUE(busy_reply("GARBAGE\r\n\r\n", 10s).failed());
    EXPECT_TRUE(busy_reply("RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n", 10s).failed());  // a response
    const auto no_cseq = busy_reply("OPTIONS * RTSP/1.0\r\n\r\n", 10s);
    ASSERT_TRUE(no_cseq.done());
    EXPECT_EQ(no_cseq.value.find("CSeq"), std::string::npos);
}

// A listener on 127.0.0.1:0 whose accepted sockets go through the caps; admitted ones are kept open with
// their slot until the test releases them.
class CapsFixture : public ::testing::Test {
protected:
    void start(RtspConnectionCaps caps) {
        caps_ = std::make_unique<RtspListenerCaps>("test", caps);
        acceptor_.open(tcp::v4());
        acceptor_.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        acceptor_.listen();
        accept_next();
        thread_ = std::thread([this] { io_.run(); });
    }
    void TearDown() override {
        asio::post(io_, [this] {
            acceptor_.close();
            admitted_.clear();
        });
        work_.reset();
        if (thread_.joinable()) thread_.join();
    }
    void accept_next() {
        acceptor_.async_accept([this](std::error_code ec, tcp::socket socket) {
            if (ec) return;
            if (auto slot = caps_->admit(socket)) admitted_.emplace_back(std::move(socket), std::move(slot));
            accept_next();
        });
    }
    // Releases the slot of the first admitted connection (as its close would).
    void release_first() {
        std::promise<void> done;
        asio::post(io_, [&] {
            if (!admitted_.empty()) admitted_.erase(admitted_.begin());
            done.set_value();
        });
        done.get_future().wait();
    }
    tcp::socket connect() {
        tcp::socket s(client_io_);
        s.connect(acceptor_.local_endpoint());
        return s;
    }

    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
    asio::io_context client_io_;
    tcp::acceptor acceptor_{io_};
    std::unique_ptr<RtspListenerCaps> caps_;
    std::vector<std::pair<tcp::socket, net::Admission::Slot>> admitted_;
    std::thread thread_;
};

// Everything the server sends until it closes.
std::string read_all(tcp::socket& s) {
    std::string got;
    for (;;) {
        char chunk[256];
        std::error_code ec;
        const auto n = s.read_some(asio::buffer(chunk), ec);
        got.append(chunk, n);
        if (ec) return got;
    }
}

TEST_F(CapsFixture, OverThePerClientCapTheFirstRequestGets503WithItsCSeqThenAClose) {
    start({0, 1});
    auto first = connect();
    auto second = connect();
    const std::string options = "OPTIONS rtsp://127.0.0.1/x RTSP/1.0\r\nCSeq: 42\r\n\r\n";
    asio::write(second, asio::buffer(options));
    EXPECT_EQ(read_all(second), "RTSP/1.0 503 Service Unavailable\r\nCSeq: 42\r\nRetry-After: 10\r\n\r\n");
    EXPECT_EQ(caps_->refused().load(), 1u);
    EXPECT_EQ(caps_->active(), 1u);

    release_first();
    auto third = connect();
    // Admitted now: the caps leave it alone, so its slot shows up.
    for (int i = 0; i < 200 && caps_->active() != 1; ++i)
        std::this_thread::sleep_for(5ms);
    EXPECT_EQ(caps_->active(), 1u);
    EXPECT_EQ(caps_->refused().load(), 1u);
}

TEST_F(CapsFixture, OverTheTotalCapASilentConnectionIsClosedWithoutAWord) {
    start({1, 0});
    auto first = connect();
    auto second = connect();
    EXPECT_EQ(read_all(second), "");  // closed after the wait for a request
    EXPECT_EQ(caps_->refused().load(), 1u);
}

}  // namespace
}  // namespace sg::server
