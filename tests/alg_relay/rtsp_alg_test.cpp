// The RTSP ALG session on loopback: a fake player and a fake origin (blocking sockets on the test thread)
// around run_rtsp_alg() running on its own io_context thread. Checks the Transport rewrites on the wire, that
// media flows both ways through the gateway's pairs, and that TEARDOWN and the end of the control connection
// free the ports.

#include "alg_relay/rtsp_alg.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <asio/post.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <future>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "net/udp_batch.hpp"

namespace sg::alg {
namespace {

using asio::ip::tcp;
using asio::ip::udp;
using namespace std::chrono_literals;

constexpr std::uint16_t k_first_port = 46000;
constexpr std::uint16_t k_last_port = 46099;

// A peer blocked on a broken gateway must fail the test, not hang it (Asio's blocking calls retry past
// SO_RCVTIMEO, so wait with poll(2) first).
template <class Socket>
bool wait_readable(Socket& socket) {
    pollfd fd{socket.native_handle(), POLLIN, 0};
    return ::poll(&fd, 1, 10000) == 1;
}

// Reads one RTSP head (no body in these tests; CRLF or bare LF line endings) from a blocking socket.
std::string read_head(tcp::socket& socket, std::string& buffer) {
    for (;;) {
        for (const std::string_view end : {std::string_view("\r\n\r\n"), std::string_view("\n\n")}) {
            if (const auto at = buffer.find(end); at != std::string::npos) {
                std::string head = buffer.substr(0, at + end.size());
                buffer.erase(0, at + end.size());
                return head;
            }
        }
        if (!wait_readable(socket)) return {};
        std::array<char, 4096> chunk{};
        asio::error_code ec;
        const std::size_t n = socket.read_some(asio::buffer(chunk), ec);
        if (ec) return {};
        buffer.append(chunk.data(), n);
    }
}

std::string match(const std::string& text, const std::string& pattern) {
    std::smatch m;
    return std::regex_search(text, m, std::regex(pattern)) ? m[1].str() : std::string();
}

class RtspAlgTest : public ::testing::Test {
protected:
    // The gateway's UDP port range, [first, last].
    virtual std::pair<std::uint16_t, std::uint16_t> port_range() const { return {k_first_port, k_last_port}; }

    void SetUp() override {
        AlgOptions options;
        std::tie(options.port_first, options.port_last) = port_range();
        alg_ = std::make_shared<RtspAlg>(options, nullptr);

        const auto loopback = asio::ip::make_address("127.0.0.1");
        tcp::acceptor to_gateway(io_, tcp::endpoint(loopback, 0));
        tcp::acceptor to_origin(peers_, tcp::endpoint(loopback, 0));
        player_.connect(to_gateway.local_endpoint());
        to_gateway.accept(gateway_client_);
        gateway_origin_.connect(to_origin.local_endpoint());
        to_origin.accept(origin_);

        auto done = std::make_shared<std::promise<AlgResult>>();
        result_ = done->get_future();
        asio::co_spawn(io_, run_rtsp_alg(gateway_client_, gateway_origin_, {}, alg_, 60s),
                       [done](const std::exception_ptr& error, AlgResult result) {
                           if (error) {
                               done->set_exception(error);
                           } else {
                               done->set_value(std::move(result));
                           }
                       });
        thread_ = std::thread([this] { io_.run(); });
    }

    void TearDown() override {
        asio::error_code ignored;
        player_.close(ignored);
        origin_.close(ignored);
        if (result_.valid()) result_.wait_for(20s);
        io_.stop();
        thread_.join();
    }

    void send(tcp::socket& socket, const std::string& text) { asio::write(socket, asio::buffer(text)); }

    std::int64_t pairs_in_use() const { return alg_->stats()->port_pairs_in_use.load(); }

    std::vector<MediaRelaySnapshot> relays_now() {
        std::promise<std::vector<MediaRelaySnapshot>> listed;
        asio::post(io_, [&] { listed.set_value(alg_->relays()); });
        return listed.get_future().get();
    }

    // Waits (bounded) until the gateway has freed every pair: it does so on its own thread.
    bool ports_freed() const {
        for (int i = 0; i < 1000 && pairs_in_use() != 0; ++i)
            std::this_thread::sleep_for(10ms);
        return pairs_in_use() == 0;
    }

    asio::io_context io_;
    asio::io_context peers_;  // never run: the peers use blocking calls
    std::shared_ptr<RtspAlg> alg_;
    tcp::socket player_{peers_};
    tcp::socket origin_{peers_};
    tcp::socket gateway_client_{io_};
    tcp::socket gateway_origin_{io_};
    std::future<AlgResult> result_;
    std::thread thread_;
    std::string player_buffer_;
    std::string origin_buffer_;
};

TEST_F(RtspAlgTest, UdpSetupIsRewrittenRelayedAndFreedAtTeardown) {
    const auto loopback = asio::ip::make_address("127.0.0.1");
    udp::socket player_rtp(peers_, udp::endpoint(loopback, 0));
    udp::socket origin_rtp(peers_, udp::endpoint(loopback, 0));
    const auto player_port = player_rtp.local_endpoint().port();
    const auto origin_port = origin_rtp.local_endpoint().port();

    // Bytes before the SETUP pass exactly as sent (bare LF line endings included).
    const std::string options = "OPTIONS rtsp://origin/test RTSP/1.0\nCSeq: 1\n\n";
    send(player_, options);
    EXPECT_EQ(read_head(origin_, origin_buffer_), "OPTIONS rtsp://origin/test RTSP/1.0\nCSeq: 1\n\n");

    send(player_,
         "SETUP rtsp://origin/test/trackID=0 RTSP/1.0\r\nCSeq: 2\r\nTransport: RTP/AVP;unicast;client_port=" +
             std::to_string(player_port) + "-" + std::to_string(player_port + 1) + "\r\n\r\n");
    const std::string setup = read_head(origin_, origin_buffer_);
    const int toward_gateway = std::stoi(match(setup, R"(client_port=(\d+)-)"));
    EXPECT_GE(toward_gateway, k_first_port);
    EXPECT_LE(toward_gateway, k_last_port);
    EXPECT_EQ(toward_gateway % 2, 0);
    EXPECT_EQ(pairs_in_use(), 2);

    send(origin_,
         "RTSP/1.0 200 OK\r\nCSeq: 2\r\nSession: abc;timeout=60\r\nTransport: RTP/AVP;unicast;client_port=" +
             std::to_string(toward_gateway) + "-" + std::to_string(toward_gateway + 1) + ";server_port=" +
             std::to_string(origin_port) + "-" + std::to_string(origin_port + 1) + ";ssrc=01020304\r\n\r\n");
    const std::string reply = read_head(player_, player_buffer_);
    EXPECT_EQ(match(reply, R"(client_port=(\d+-\d+))"),
              std::to_string(player_port) + "-" + std::to_string(player_port + 1));
    EXPECT_EQ(match(reply, R"(source=([0-9.]+))"), "127.0.0.1");
    const int gateway_server_port = std::stoi(match(reply, R"(server_port=(\d+)-)"));
    EXPECT_GE(gateway_server_port, k_first_port);
    EXPECT_NE(match(reply, R"(Session: (abc))"), "");

    // Origin -> player: to the player's announced port.
    const std::string rtp_down = "\x80\x60\x05\x01media-down";
    origin_rtp.send_to(asio::buffer(rtp_down),
                       udp::endpoint(loopback, static_cast<std::uint16_t>(toward_gateway)));
    std::array<char, 2048> buffer{};
    udp::endpoint from;
    asio::error_code ec;
    ASSERT_TRUE(wait_readable(player_rtp));
    std::size_t n = player_rtp.receive_from(asio::buffer(buffer), from, 0, ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(std::string(buffer.data(), n), rtp_down);
    EXPECT_EQ(from.port(), gateway_server_port);

    // A datagram from another address (127.0.0.2 is loopback too) is not the origin's: dropped and counted.
    udp::socket stranger(peers_, udp::endpoint(asio::ip::make_address("127.0.0.2"), 0));
    stranger.send_to(asio::buffer(std::string("\x80\x60\x05\x09injected")),
                     udp::endpoint(loopback, static_cast<std::uint16_t>(toward_gateway)));
    // A burst longer than one receive batch (the loop reads 32 datagrams per system call) arrives whole and
    // in order, and nothing of the stranger's before it.
    constexpr int k_burst = 100;
    for (int i = 0; i < k_burst; ++i) {
        const std::string packet = "\x80\x60\x06" + std::string(1, static_cast<char>(i)) + "burst";
        origin_rtp.send_to(asio::buffer(packet),
                           udp::endpoint(loopback, static_cast<std::uint16_t>(toward_gateway)));
    }
    for (int i = 0; i < k_burst; ++i) {
        ASSERT_TRUE(wait_readable(player_rtp)) << "burst packet " << i;
        n = player_rtp.receive_from(asio::buffer(buffer), from, 0, ec);
        ASSERT_FALSE(ec) << ec.message();
        ASSERT_EQ(std::string(buffer.data(), n),
                  "\x80\x60\x06" + std::string(1, static_cast<char>(i)) + "burst");
    }

    // A video frame's packets sent as one segmented message (as serve sends them): the relay's origin-facing
    // socket may take them in one read (it asks the kernel to coalesce), and the player gets each packet
    // whole and in order, as sent.
    std::vector<std::string> frame;
    for (int i = 0; i < 7; ++i) {
        std::string packet = "\x80\x60\x07" + std::string(1, static_cast<char>(i));
        packet.resize(i < 6 ? 1200 : 300, static_cast<char>('a' + i));
        frame.push_back(std::move(packet));
    }
    net::UdpSendBatch segmented;
    segmented.set_segmentation(true);
    for (const auto& packet : frame)
        segmented.add(udp::endpoint(loopback, static_cast<std::uint16_t>(toward_gateway)), {},
                      Bytes(reinterpret_cast<const std::uint8_t*>(packet.data()), packet.size()));
    ASSERT_EQ(net::send_batch_now(origin_rtp.native_handle(), segmented).sent, frame.size());
    for (const auto& packet : frame) {
        ASSERT_TRUE(wait_readable(player_rtp));
        n = player_rtp.receive_from(asio::buffer(buffer), from, 0, ec);
        ASSERT_FALSE(ec) << ec.message();
        ASSERT_EQ(std::string(buffer.data(), n), packet);
    }
    const std::size_t frame_bytes = 6 * 1200 + 300;

    // Player -> origin: to the origin's server_port.
    const std::string rtp_up = "\x80\x60\x05\x02media-up";
    player_rtp.send_to(asio::buffer(rtp_up),
                       udp::endpoint(loopback, static_cast<std::uint16_t>(gateway_server_port)));
    ASSERT_TRUE(wait_readable(origin_rtp));
    n = origin_rtp.receive_from(asio::buffer(buffer), from, 0, ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(std::string(buffer.data(), n), rtp_up);
    EXPECT_EQ(from.port(), toward_gateway);

    // The running relay as the admin API lists it (read on the gateway's loop, where relays live).
    const auto listed = relays_now();
    ASSERT_EQ(listed.size(), 1U);
    EXPECT_EQ(listed[0].session_id, "abc");
    EXPECT_EQ(listed[0].client, "127.0.0.1:" + std::to_string(player_port));
    EXPECT_EQ(listed[0].client_facing_port, gateway_server_port);
    EXPECT_EQ(listed[0].origin_facing_port, toward_gateway);
    EXPECT_EQ(listed[0].counters.packets_to_client[0], 1U + k_burst + frame.size());
    EXPECT_EQ(listed[0].counters.bytes_to_client, rtp_down.size() + k_burst * 9U + frame_bytes);
    EXPECT_EQ(listed[0].counters.bytes_to_origin, rtp_up.size());
    EXPECT_EQ(listed[0].counters.dropped, 1U);

    send(player_, "TEARDOWN rtsp://origin/test RTSP/1.0\r\nCSeq: 3\r\nSession: abc\r\n\r\n");
    EXPECT_NE(read_head(origin_, origin_buffer_).find("TEARDOWN"), std::string::npos);
    send(origin_, "RTSP/1.0 200 OK\r\nCSeq: 3\r\n\r\n");
    EXPECT_EQ(read_head(player_, player_buffer_), "RTSP/1.0 200 OK\r\nCSeq: 3\r\n\r\n");
    EXPECT_TRUE(ports_freed());
    EXPECT_TRUE(relays_now().empty());

    player_.shutdown(tcp::socket::shutdown_send);
    origin_.shutdown(tcp::socket::shutdown_send);
    ASSERT_EQ(result_.wait_for(20s), std::future_status::ready);
    const auto result = result_.get();
    EXPECT_EQ(result.media_relays, 1u);
    EXPECT_EQ(result.end_reason, "closed");
    EXPECT_EQ(alg_->stats()->packets_to_client.load(), 1U + k_burst + frame.size());
    EXPECT_EQ(alg_->stats()->packets_to_origin.load(), 1u);
    EXPECT_EQ(alg_->stats()->bytes_to_client.load(), rtp_down.size() + k_burst * 9U + frame_bytes);
}

TEST_F(RtspAlgTest, ClosingTheControlConnectionFreesThePorts) {
    send(player_,
         "SETUP rtsp://origin/test RTSP/1.0\r\nCSeq: 7\r\nTransport: RTP/AVP;client_port=5000-5001\r\n\r\n");
    const std::string setup = read_head(origin_, origin_buffer_);
    const std::string ports = match(setup, R"(client_port=(\d+-\d+))");
    send(origin_, "RTSP/1.0 200 OK\r\nCSeq: 7\r\nSession: s1\r\nTransport: RTP/AVP;client_port=" + ports +
                      ";server_port=6000-6001\r\n\r\n");
    EXPECT_NE(read_head(player_, player_buffer_).find("200 OK"), std::string::npos);
    EXPECT_EQ(pairs_in_use(), 2);
    player_.close();  // a player that vanishes without TEARDOWN
    EXPECT_TRUE(ports_freed());
}

// The relays of one event loop share one epoll set and its buffers; another loop gets its own, and a loop's
// goes when nothing holds it.
TEST(RelayLoopTest, IsSharedPerEventLoopAndGoesWithItsLastHolder) {
    RtspAlg alg(AlgOptions{}, nullptr);
    asio::io_context one;
    asio::io_context two;
    const auto first = alg.relay_loop(one.get_executor());
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(alg.relay_loop(one.get_executor()), first);
    EXPECT_EQ(&first->io, &one);
    const auto other = alg.relay_loop(two.get_executor());
    ASSERT_NE(other, nullptr);
    EXPECT_NE(other, first);
    const std::weak_ptr<RelayLoop> watched = first;
    EXPECT_EQ(watched.use_count(), 1);  // the caller's, not the ALG's (it keeps a weak reference)
}

TEST_F(RtspAlgTest, InterleavedAndUnparsableBytesPassUntouched) {
    const std::string setup =
        "SETUP rtsp://o/t RTSP/1.0\r\nCSeq: 1\r\nTransport: RTP/AVP/TCP;interleaved=0-1\r\n\r\n";
    send(player_, setup);
    EXPECT_EQ(read_head(origin_, origin_buffer_), setup);
    EXPECT_EQ(pairs_in_use(), 0);
    // A frame, then bytes that are no RTSP at all: the stream falls back to a byte relay.
    std::string frame(
        "$\x00\x00\x04"
        "abcd",
        8);
    std::string garbage = "\x01\x02 not rtsp\r\n\r\n";
    send(origin_, frame + garbage);
    std::string got;
    while (got.size() < frame.size() + garbage.size() && wait_readable(player_)) {
        std::array<char, 256> chunk{};
        asio::error_code ec;
        const std::size_t n = player_.read_some(asio::buffer(chunk), ec);
        if (ec) break;
        got.append(chunk.data(), n);
    }
    EXPECT_EQ(got, frame + garbage);
    EXPECT_EQ(alg_->stats()->parse_fallbacks.load(), 1u);
}

}  // namespace
}  // namespace sg::alg

namespace sg::alg {
namespace {

// One port pair, where a relayed SETUP needs two (one facing each side).
class RtspAlgWithoutPortsTest : public RtspAlgTest {
protected:
    std::pair<std::uint16_t, std::uint16_t> port_range() const override { return {46100, 46101}; }
};

TEST_F(RtspAlgWithoutPortsTest, UdpSetupIsRefusedWhenNoPortPairIsFree) {
    // Pipelined: the refusal must come back in its place, between the replies to its neighbours.
    send(player_,
         "OPTIONS rtsp://o/t RTSP/1.0\r\nCSeq: 1\r\n\r\n"
         "SETUP rtsp://o/t RTSP/1.0\r\nCSeq: 2\r\nSession: s9\r\nTransport: "
         "RTP/AVP;client_port=5000-5001\r\n\r\n"
         "GET_PARAMETER rtsp://o/t RTSP/1.0\r\nCSeq: 3\r\n\r\n");
    EXPECT_EQ(read_head(origin_, origin_buffer_), "OPTIONS rtsp://o/t RTSP/1.0\r\nCSeq: 1\r\n\r\n");
    // The origin never sees the SETUP (it would allocate a session and send media nowhere), but an OPTIONS
    // with its CSeq and Session.
    const std::string stand_in = read_head(origin_, origin_buffer_);
    EXPECT_EQ(stand_in.rfind("OPTIONS rtsp://o/t RTSP/1.0\r\n", 0), 0u) << stand_in;
    EXPECT_NE(stand_in.find("CSeq: 2\r\n"), std::string::npos);
    EXPECT_NE(stand_in.find("Session: s9\r\n"), std::string::npos);
    EXPECT_EQ(stand_in.find("Transport"), std::string::npos);
    EXPECT_NE(read_head(origin_, origin_buffer_).find("CSeq: 3"), std::string::npos);
    EXPECT_EQ(pairs_in_use(), 0);

    send(origin_,
         "RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\nRTSP/1.0 200 OK\r\nCSeq: 2\r\nPublic: OPTIONS\r\n\r\n"
         "RTSP/1.0 200 OK\r\nCSeq: 3\r\n\r\n");
    EXPECT_EQ(read_head(player_, player_buffer_), "RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n");
    EXPECT_EQ(read_head(player_, player_buffer_), "RTSP/1.0 453 Not Enough Bandwidth\r\nCSeq: 2\r\n\r\n");
    EXPECT_EQ(read_head(player_, player_buffer_), "RTSP/1.0 200 OK\r\nCSeq: 3\r\n\r\n");

    player_.shutdown(tcp::socket::shutdown_send);
    origin_.shutdown(tcp::socket::shutdown_send);
    ASSERT_EQ(result_.wait_for(20s), std::future_status::ready);
    const auto result = result_.get();
    EXPECT_EQ(result.refused_setups, 1u);
    EXPECT_EQ(result.media_relays, 0u);
    EXPECT_EQ(alg_->stats()->port_exhausted.load(), 1u);
}

}  // namespace
}  // namespace sg::alg
