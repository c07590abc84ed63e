// SOCKS5 BIND (RFC 1928 section 4) through the server on loopback, IPv4 and IPv6: the two replies, the relay,
// who may connect, the deadline and the client leaving early. Blocking clients built from our own codec.
#include <gtest/gtest.h>

#include <asio/connect.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "socks/server.hpp"
#include "socks5/socks5.hpp"

namespace sg::socks {
namespace {

using asio::ip::tcp;
using namespace std::chrono_literals;

// Short deadlines, so that a failing test ends in seconds rather than hanging in a blocking read.
ServerOptions quick_options() {
    ServerOptions options;
    options.connect_timeout = 5s;
    options.idle_timeout = 5s;
    return options;
}

class BindFixture : public ::testing::Test {
public:
    void start(ServerOptions options = quick_options(), const char* listen_on = "127.0.0.1") {
        server_ = std::make_unique<Server>(io_, std::move(options));
        std::string error;
        const auto bound = server_->listen(tcp::endpoint(asio::ip::make_address(listen_on), 0), error);
        ASSERT_TRUE(bound.ok()) << error;
        endpoint_ = *bound;
        thread_ = std::thread([this] { io_.run(); });
    }
    void TearDown() override {
        asio::post(io_, [this] {
            if (server_) {
                server_->stop_accepting();
                server_->close_sessions();
            }
        });
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

    // Greeting and BIND request in one write; returns the first reply.
    ReplyMessage bind(tcp::socket& s, const Address& peer, const std::string& extra = {}) {
        std::vector<std::uint8_t> out;
        const Method methods[] = {Method::no_auth};
        EXPECT_TRUE(build_method_request(out, methods));
        EXPECT_TRUE(build_request(out, Command::bind, peer));
        out.insert(out.end(), extra.begin(), extra.end());
        asio::write(s, asio::buffer(out));
        std::uint8_t selection[2] = {};
        asio::read(s, asio::buffer(selection));
        EXPECT_EQ(selection[1], 0x00);
        return read_reply(s);
    }

    static ReplyMessage read_reply(tcp::socket& s) {
        std::vector<std::uint8_t> in;
        for (;;) {
            std::uint8_t byte = 0;
            asio::error_code ec;
            asio::read(s, asio::buffer(&byte, 1), ec);
            if (ec) {
                ADD_FAILURE() << "connection ended before a whole reply: " << ec.message();
                return ReplyMessage{Reply{0xEE}, {}};
            }
            in.push_back(byte);
            const auto reply = parse_reply(in);
            if (reply.done()) return reply.value;
            if (reply.failed()) {
                ADD_FAILURE() << "bad reply: " << reply.error;
                return ReplyMessage{Reply{0xEE}, {}};
            }
        }
    }

    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
    asio::io_context client_io_;
    std::unique_ptr<Server> server_;
    tcp::endpoint endpoint_;
    std::thread thread_;
};

Address v4(std::array<std::uint8_t, 4> octets, std::uint16_t port = 0) {
    return Address::from_ipv4(octets, port);
}
Address v6_loopback(std::uint16_t port = 0) {
    std::array<std::uint8_t, 16> octets{};
    octets[15] = 1;
    return Address::from_ipv6(octets, port);
}

tcp::endpoint to_endpoint(const Address& a) {
    if (a.is_ipv4()) return {asio::ip::address_v4(a.ipv4()), a.port()};
    return {asio::ip::address_v6(a.ipv6()), a.port()};
}

Address to_address(const tcp::endpoint& e) {
    if (e.address().is_v4()) return Address::from_ipv4(e.address().to_v4().to_bytes(), e.port());
    return Address::from_ipv6(e.address().to_v6().to_bytes(), e.port());
}

// A peer connecting to `bnd`, from `source` (port 0: any) when given.
tcp::socket connect_peer(asio::io_context& io, const tcp::endpoint& bnd,
                         const tcp::endpoint* source = nullptr) {
    tcp::socket s(io);
    s.open(bnd.protocol());
    if (source != nullptr) {
        s.set_option(tcp::socket::reuse_address(true));
        s.bind(*source);
    }
    s.connect(bnd);
    return s;
}

// EOF or reset: the other side closed.
bool closed_by_peer(tcp::socket& s) {
    std::uint8_t byte = 0;
    asio::error_code ec;
    s.read_some(asio::buffer(&byte, 1), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
}

std::string read_exactly(tcp::socket& s, std::size_t n) {
    std::string out(n, '\0');
    asio::read(s, asio::buffer(out));
    return out;
}

bool listening(asio::io_context& io, const tcp::endpoint& e) {
    tcp::socket s(io);
    asio::error_code ec;
    s.connect(e, ec);
    return !ec;
}

bool ipv6_loopback_available() {
    asio::io_context io;
    tcp::acceptor a(io);
    asio::error_code ec;
    a.open(tcp::v6(), ec);
    if (!ec) a.bind(tcp::endpoint(asio::ip::address_v6::loopback(), 0), ec);
    return !ec;
}

// The whole exchange of RFC 1928 section 4 for BIND, then a relay both ways with half-closes.
void full_exchange(BindFixture& f, tcp::socket& client, asio::io_context& io, const Address& expected,
                   const asio::ip::address& gateway_side) {
    const std::string pipelined = "sent with the request";
    const auto first = f.bind(client, expected, pipelined);
    ASSERT_EQ(first.reply, Reply::succeeded);
    ASSERT_EQ(first.bound.type(), expected.type());  // BND in the expected peer's family
    const auto bnd = to_endpoint(first.bound);
    EXPECT_EQ(bnd.address(), gateway_side);
    EXPECT_NE(bnd.port(), 0);

    const std::string early = "+sent while waiting";
    asio::write(client, asio::buffer(early));

    auto peer = connect_peer(io, bnd);
    const auto second = BindFixture::read_reply(client);
    EXPECT_EQ(second.reply, Reply::succeeded);
    EXPECT_EQ(second.bound, to_address(peer.local_endpoint()));  // who connected, with its port

    EXPECT_EQ(read_exactly(peer, pipelined.size() + early.size()), pipelined + early);
    const std::string up = "client to peer";
    asio::write(client, asio::buffer(up));
    EXPECT_EQ(read_exactly(peer, up.size()), up);
    const std::string down = "peer to client, a little longer";
    asio::write(peer, asio::buffer(down));
    EXPECT_EQ(read_exactly(client, down.size()), down);

    peer.shutdown(tcp::socket::shutdown_send);  // half-closes travel both ways
    EXPECT_TRUE(closed_by_peer(client));
    client.shutdown(tcp::socket::shutdown_send);
    EXPECT_TRUE(closed_by_peer(peer));
}

TEST_F(BindFixture, Ipv4PeerFullExchangeAndRelay) {
    start();
    auto client = connect_client();
    full_exchange(*this, client, client_io_, v4({127, 0, 0, 1}), asio::ip::make_address("127.0.0.1"));
}

TEST_F(BindFixture, Ipv6PeerFullExchangeAndRelay) {
    if (!ipv6_loopback_available()) GTEST_SKIP() << "no IPv6 loopback here";
    start();
    auto client = connect_client();  // an IPv4 client asking for an IPv6 peer: BND follows the peer
    full_exchange(*this, client, client_io_, v6_loopback(), asio::ip::address_v6::loopback());
}

TEST_F(BindFixture, Ipv6ClientIpv4Peer) {
    if (!ipv6_loopback_available()) GTEST_SKIP() << "no IPv6 loopback here";
    start(quick_options(), "::1");
    auto client = connect_client();
    full_exchange(*this, client, client_io_, v4({127, 0, 0, 1}), asio::ip::make_address("127.0.0.1"));
}

TEST_F(BindFixture, Ipv4MappedIpv6PeerCountsAsIpv4) {
    start();
    auto client = connect_client();
    std::array<std::uint8_t, 16> mapped{};
    mapped[10] = 0xff;
    mapped[11] = 0xff;
    mapped[12] = 127;
    mapped[15] = 1;
    const auto first = bind(client, Address::from_ipv6(mapped, 0));
    ASSERT_EQ(first.reply, Reply::succeeded);
    EXPECT_TRUE(first.bound.is_ipv4());
    auto peer = connect_peer(client_io_, to_endpoint(first.bound));
    const auto second = read_reply(client);
    EXPECT_EQ(second.reply, Reply::succeeded);
    EXPECT_EQ(second.bound, to_address(peer.local_endpoint()));
}

TEST_F(BindFixture, ConnectionFromAnotherAddressIsClosedAndTheNamedPeerStillGetsIn) {
    start();
    auto client = connect_client();
    // 127.0.0.2 is loopback too, but a different host as far as BIND is concerned.
    const auto first = bind(client, v4({127, 0, 0, 2}));
    ASSERT_EQ(first.reply, Reply::succeeded);
    const auto bnd = to_endpoint(first.bound);

    for (int i = 0; i < 3; ++i) {
        auto intruder = connect_peer(client_io_, bnd);  // from 127.0.0.1
        EXPECT_TRUE(closed_by_peer(intruder));
    }
    const tcp::endpoint source(asio::ip::make_address("127.0.0.2"), 0);
    auto peer = connect_peer(client_io_, bnd, &source);
    const auto second = read_reply(client);
    EXPECT_EQ(second.reply, Reply::succeeded);
    EXPECT_EQ(second.bound, to_address(peer.local_endpoint()));
    EXPECT_TRUE(second.bound.is_ipv4());
    EXPECT_EQ(second.bound.ipv4(), (std::array<std::uint8_t, 4>{127, 0, 0, 2}));

    const std::string hello = "hello";
    asio::write(peer, asio::buffer(hello));
    EXPECT_EQ(read_exactly(client, hello.size()), hello);
}

TEST_F(BindFixture, ConnectionFromAnotherPortIsClosedWhenThePortIsNamed) {
    start();
    // A free port for the peer to connect from.
    tcp::acceptor reserve(client_io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const auto peer_port = reserve.local_endpoint().port();
    reserve.close();

    auto client = connect_client();
    const auto first = bind(client, v4({127, 0, 0, 1}, peer_port));
    ASSERT_EQ(first.reply, Reply::succeeded);
    const auto bnd = to_endpoint(first.bound);

    auto wrong_port = connect_peer(client_io_, bnd);
    EXPECT_TRUE(closed_by_peer(wrong_port));

    const tcp::endpoint source(asio::ip::make_address("127.0.0.1"), peer_port);
    auto peer = connect_peer(client_io_, bnd, &source);
    const auto second = read_reply(client);
    EXPECT_EQ(second.reply, Reply::succeeded);
    EXPECT_EQ(second.bound, v4({127, 0, 0, 1}, peer_port));
}

TEST_F(BindFixture, PeerThatNeverConnectsGetsHostUnreachableAndTheListenerIsGone) {
    ServerOptions options = quick_options();
    options.connect_timeout = 300ms;
    start(options);
    auto client = connect_client();
    const auto first = bind(client, v4({127, 0, 0, 2}));
    ASSERT_EQ(first.reply, Reply::succeeded);
    const auto bnd = to_endpoint(first.bound);
    EXPECT_TRUE(listening(client_io_, bnd));  // refused (closed at once): the wait goes on

    const auto started = std::chrono::steady_clock::now();
    const auto second = read_reply(client);
    const auto waited = std::chrono::steady_clock::now() - started;
    EXPECT_EQ(second.reply, Reply::host_unreachable);
    EXPECT_EQ(second.bound, Address{});
    EXPECT_GE(waited, 200ms);
    EXPECT_LT(waited, 5s);
    EXPECT_TRUE(closed_by_peer(client));
    EXPECT_FALSE(listening(client_io_, bnd));
}

TEST_F(BindFixture, ClientClosingWhileWaitingClosesTheListenerAtOnce) {
    ServerOptions options = quick_options();
    options.connect_timeout = 60s;  // far away: only the client's close can end the wait in time
    start(options);
    auto client = connect_client();
    const auto first = bind(client, v4({127, 0, 0, 2}));
    ASSERT_EQ(first.reply, Reply::succeeded);
    const auto bnd = to_endpoint(first.bound);
    ASSERT_EQ(server_->active_sessions(), 1u);

    client.close();
    const auto deadline = std::chrono::steady_clock::now() + 3s;
    while (server_->active_sessions() != 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(10ms);
    }
    EXPECT_EQ(server_->active_sessions(), 0u);
    EXPECT_FALSE(listening(client_io_, bnd));
}

TEST_F(BindFixture, CloseSessionsEndsAWaitingBind) {
    ServerOptions options = quick_options();
    options.connect_timeout = 60s;
    start(options);
    auto client = connect_client();
    const auto first = bind(client, v4({127, 0, 0, 2}));
    ASSERT_EQ(first.reply, Reply::succeeded);
    asio::post(io_, [this] { server_->close_sessions(); });
    EXPECT_TRUE(closed_by_peer(client));
}

TEST_F(BindFixture, NameIsResolvedOnTheGatewayAndItsFamilyChosen) {
    start();
    auto client = connect_client();
    const auto first = bind(client, *Address::from_domain("localhost", 0));
    ASSERT_EQ(first.reply, Reply::succeeded);
    const auto bnd = to_endpoint(first.bound);
    EXPECT_TRUE(bnd.address().is_loopback()) << bnd.address().to_string();
    auto peer = connect_peer(client_io_, bnd);
    const auto second = read_reply(client);
    EXPECT_EQ(second.reply, Reply::succeeded);
    EXPECT_EQ(second.bound, to_address(peer.local_endpoint()));
}

TEST_F(BindFixture, UnresolvableNameGetsHostUnreachable) {
    ServerOptions options = quick_options();
    options.connect_timeout = 3s;  // a resolver timeout gives the same REP
    start(options);
    auto client = connect_client();
    const auto first = bind(client, *Address::from_domain("no-such-peer.invalid", 0));
    EXPECT_EQ(first.reply, Reply::host_unreachable);
    EXPECT_TRUE(closed_by_peer(client));
}

TEST_F(BindFixture, AddressesThatNameNoSinglePeerAreRefused) {
    start();
    for (const auto& peer :
         {v4({0, 0, 0, 0}), v4({255, 255, 255, 255}), v4({224, 0, 0, 1}), Address::from_ipv6({}, 0)}) {
        auto client = connect_client();
        EXPECT_EQ(bind(client, peer).reply, Reply::not_allowed) << peer.to_string();
        EXPECT_TRUE(closed_by_peer(client));
    }
}

TEST_F(BindFixture, ClientFloodingTheControlConnectionBeforeTheSecondReplyIsCutOff) {
    start();
    auto client = connect_client();
    const auto first = bind(client, v4({127, 0, 0, 2}));
    ASSERT_EQ(first.reply, Reply::succeeded);
    const std::string flood(128 * 1024, 'x');
    asio::error_code ec;
    asio::write(client, asio::buffer(flood), ec);  // may fail part-way once the server closes
    const auto second = read_reply(client);
    EXPECT_EQ(second.reply, Reply::general_failure);
    EXPECT_FALSE(listening(client_io_, to_endpoint(first.bound)));
}

TEST_F(BindFixture, PeerDataSentBeforeTheSecondReplyIsRead) {
    start();
    auto client = connect_client();
    const auto first = bind(client, v4({127, 0, 0, 1}));
    ASSERT_EQ(first.reply, Reply::succeeded);
    auto peer = connect_peer(client_io_, to_endpoint(first.bound));
    const std::string banner = "220 ready\r\n";  // e.g. a server that speaks first
    asio::write(peer, asio::buffer(banner));
    EXPECT_EQ(read_reply(client).reply, Reply::succeeded);
    EXPECT_EQ(read_exactly(client, banner.size()), banner);
}

}  // namespace
}  // namespace sg::socks
