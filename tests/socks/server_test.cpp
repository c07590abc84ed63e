// The SOCKS5 server on loopback, driven by a blocking client built from our own codec.
#include "socks/server.hpp"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/read.hpp>
#include <asio/use_future.hpp>
#include <asio/write.hpp>
#include <future>
#include <thread>

#include "socks5/socks5.hpp"

namespace sg::socks {
namespace {

using asio::ip::tcp;
using namespace std::chrono_literals;

// A server on its own io_context thread, on an ephemeral loopback port.
class ServerFixture : public ::testing::Test {
protected:
    void start(ServerOptions options = {}) {
        server_ = std::make_unique<Server>(io_, std::move(options));
        std::string error;
        const auto bound = server_->listen(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0), error);
        ASSERT_TRUE(bound.ok()) << error;
        endpoint_ = *bound;
        thread_ = std::thread([this] { io_.run(); });
    }
    void TearDown() override {
        asio::post(io_, [this] {
            server_->stop_accepting();
            server_->close_sessions();
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

    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
    asio::io_context client_io_;
    std::unique_ptr<Server> server_;
    tcp::endpoint endpoint_;
    std::thread thread_;
};

std::vector<std::uint8_t> read_some(tcp::socket& s, std::size_t n) {
    std::vector<std::uint8_t> buf(n);
    asio::read(s, asio::buffer(buf));
    return buf;
}

// Greeting + request in one write (pipelined, as many clients do); returns the parsed reply.
ReplyMessage request(tcp::socket& s, Command cmd, const Address& target) {
    std::vector<std::uint8_t> out;
    const Method methods[] = {Method::no_auth};
    EXPECT_TRUE(build_method_request(out, methods));
    EXPECT_TRUE(build_request(out, cmd, target));
    asio::write(s, asio::buffer(out));
    const auto selection = read_some(s, 2);
    EXPECT_EQ(selection[1], 0x00);
    std::vector<std::uint8_t> in;
    for (;;) {
        std::uint8_t byte = 0;
        asio::read(s, asio::buffer(&byte, 1));
        in.push_back(byte);
        const auto reply = parse_reply(in);
        if (reply.done()) return reply.value;
        EXPECT_FALSE(reply.failed());
        if (reply.failed()) return {};
    }
}

Address loopback(std::uint16_t port) {
    return Address::from_ipv4({127, 0, 0, 1}, port);
}

bool closed_by_peer(tcp::socket& s) {
    std::uint8_t byte = 0;
    asio::error_code ec;
    s.read_some(asio::buffer(&byte, 1), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
}

TEST_F(ServerFixture, ConnectRelaysBothWaysIncludingPipelinedBytes) {
    start();
    tcp::acceptor echo_acceptor(client_io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    auto client = connect_client();
    std::vector<std::uint8_t> out;
    const Method methods[] = {Method::no_auth};
    ASSERT_TRUE(build_method_request(out, methods));
    ASSERT_TRUE(build_request(out, Command::connect, loopback(echo_acceptor.local_endpoint().port())));
    const std::string early = "sent before the reply";
    out.insert(out.end(), early.begin(), early.end());
    asio::write(client, asio::buffer(out));

    tcp::socket target = echo_acceptor.accept();
    std::string got(early.size(), '\0');
    asio::read(target, asio::buffer(got));
    EXPECT_EQ(got, early);

    EXPECT_EQ(read_some(client, 2)[1], 0x00);
    const auto reply = read_some(client, 10);  // IPv4 BND
    EXPECT_EQ(reply[1], static_cast<std::uint8_t>(Reply::succeeded));

    const std::string back = "from the target";
    asio::write(target, asio::buffer(back));
    std::string echoed(back.size(), '\0');
    asio::read(client, asio::buffer(echoed));
    EXPECT_EQ(echoed, back);

    target.shutdown(tcp::socket::shutdown_send);  // a half-close travels through
    EXPECT_TRUE(closed_by_peer(client));
}

TEST_F(ServerFixture, RefusedTargetGetsRep05) {
    start();
    tcp::acceptor closed(client_io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const auto port = closed.local_endpoint().port();
    closed.close();
    auto client = connect_client();
    EXPECT_EQ(request(client, Command::connect, loopback(port)).reply, Reply::connection_refused);
    EXPECT_TRUE(closed_by_peer(client));
}

TEST_F(ServerFixture, UnknownCommandAndAddressTypeGetTheirReps) {
    start();
    {
        auto client = connect_client();
        const std::uint8_t bytes[] = {5, 1, 0, 5, 9, 0, 1, 127, 0, 0, 1, 0, 80};
        asio::write(client, asio::buffer(bytes));
        const auto in = read_some(client, 2 + 10);
        EXPECT_EQ(in[3], static_cast<std::uint8_t>(Reply::command_not_supported));
    }
    {
        auto client = connect_client();
        const std::uint8_t bytes[] = {5, 1, 0, 5, 1, 0, 7, 1, 2, 3, 4};
        asio::write(client, asio::buffer(bytes));
        const auto in = read_some(client, 2 + 10);
        EXPECT_EQ(in[3], static_cast<std::uint8_t>(Reply::address_type_not_supported));
    }
}

// Bytes the server sent before closing; empty when it closed without answering.
std::vector<std::uint8_t> read_until_closed(tcp::socket& s) {
    std::vector<std::uint8_t> got;
    for (;;) {
        std::uint8_t chunk[64];
        asio::error_code ec;
        const auto n = s.read_some(asio::buffer(chunk), ec);
        got.insert(got.end(), chunk, chunk + n);
        if (ec) return got;
    }
}

std::shared_ptr<const Credentials> one_account(std::string_view user, std::string_view password);

// The allow-list is checked at accept: a client outside it is closed before the server reads its greeting,
// so it never gets an answer nor a chance to try a password.
TEST_F(ServerFixture, ClientOutsideTheAllowListIsClosedAtAcceptBeforeAnyCredentialCheck) {
    ServerOptions options;
    options.allow.push_back(*net::Cidr::parse("198.18.0.0/15"));  // loopback not included
    options.users = one_account("alice", "secret");
    start(options);
    auto client = connect_client();
    // Greeting offering username/password and an RFC 1929 request with the right password, in one write.
    const std::uint8_t attempt[] = {5, 1, 2, 1, 5, 'a', 'l', 'i', 'c', 'e', 6, 's', 'e', 'c', 'r', 'e', 't'};
    asio::error_code ec;
    asio::write(client, asio::buffer(attempt), ec);  // may fail already: the server may have closed
    EXPECT_TRUE(read_until_closed(client).empty()) << "the server answered a client outside the allow-list";
    EXPECT_EQ(server_->stats().refused_not_allowed.load(), 1u);
    EXPECT_EQ(server_->stats().auth_attempts.load(), 0u);
    EXPECT_EQ(server_->stats().sessions_started.load(), 0u);
}

TEST_F(ServerFixture, ClientInTheAllowListGetsItsCredentialsChecked) {
    ServerOptions options;
    options.users = one_account("alice", "secret");
    start(options);
    auto client = connect_client();
    const std::uint8_t attempt[] = {5, 1, 2, 1, 5, 'a', 'l', 'i', 'c', 'e', 5, 'w', 'r', 'o', 'n', 'g'};
    asio::write(client, asio::buffer(attempt));
    const auto got = read_until_closed(client);
    ASSERT_EQ(got.size(), 4u);  // method selection, then the failed auth status
    EXPECT_NE(got[3], 0x00);
    EXPECT_EQ(server_->stats().auth_attempts.load(), 1u);
    EXPECT_EQ(server_->stats().refused_not_allowed.load(), 0u);
}

TEST_F(ServerFixture, NoAcceptableMethodIsRefused) {
    start();
    auto client = connect_client();
    const std::uint8_t greeting[] = {5, 1, 2};  // username/password only
    asio::write(client, asio::buffer(greeting));
    const auto in = read_some(client, 2);
    EXPECT_EQ(in[1], 0xff);
    EXPECT_TRUE(closed_by_peer(client));
}

TEST_F(ServerFixture, SilentClientIsClosedAtTheHandshakeDeadline) {
    ServerOptions options;
    options.handshake_timeout = 200ms;
    start(options);
    auto client = connect_client();
    const std::uint8_t partial[] = {5, 2};  // promises two methods, never sends them
    asio::write(client, asio::buffer(partial));
    EXPECT_TRUE(closed_by_peer(client));
}

TEST_F(ServerFixture, GarbageEndsOnlyItsOwnSession) {
    start();
    tcp::acceptor echo_acceptor(client_io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    auto good = connect_client();
    EXPECT_EQ(request(good, Command::connect, loopback(echo_acceptor.local_endpoint().port())).reply,
              Reply::succeeded);
    tcp::socket target = echo_acceptor.accept();

    for (const std::vector<std::uint8_t>& garbage :
         std::vector<std::vector<std::uint8_t>>{{4, 1, 0, 80, 127, 0, 0, 1, 0},  // SOCKS4
                                                {'G', 'E', 'T', ' ', '/'},       // HTTP
                                                {5, 0},                          // no methods
                                                std::vector<std::uint8_t>(600, 0xff)}) {
        auto bad = connect_client();
        asio::error_code ec;
        asio::write(bad, asio::buffer(garbage), ec);
        EXPECT_TRUE(closed_by_peer(bad));
    }

    const std::string payload = "still alive";
    asio::write(good, asio::buffer(payload));
    std::string got(payload.size(), '\0');
    asio::read(target, asio::buffer(got));
    EXPECT_EQ(got, payload);
}

// Holds a session open in the handshake (greeting sent, request pending), so it counts against the limits.
tcp::socket open_session(tcp::socket s) {
    const std::uint8_t greeting[] = {5, 1, 0};
    asio::write(s, asio::buffer(greeting));
    read_some(s, 2);
    return s;
}

TEST_F(ServerFixture, PerClientLimitClosesExtraSessionsAndFreesSlots) {
    ServerOptions options;
    options.max_sessions_per_client = 2;
    start(options);
    auto first = open_session(connect_client());
    auto second = open_session(connect_client());
    auto third = connect_client();
    EXPECT_TRUE(closed_by_peer(third)) << "a third session from the same client was admitted";

    first.close();
    // The slot frees when the server notices the close; retry briefly rather than sleep a fixed time.
    bool admitted = false;
    for (int attempt = 0; attempt < 50 && !admitted; ++attempt) {
        auto again = connect_client();
        const std::uint8_t greeting[] = {5, 1, 0};
        asio::error_code ec;
        asio::write(again, asio::buffer(greeting), ec);
        std::uint8_t reply[2] = {};
        asio::read(again, asio::buffer(reply), ec);
        admitted = !ec && reply[0] == 5;
        if (!admitted) std::this_thread::sleep_for(10ms);
    }
    EXPECT_TRUE(admitted);
}

TEST_F(ServerFixture, OverallLimitClosesExtraSessions) {
    ServerOptions options;
    options.max_sessions = 1;
    start(options);
    auto first = open_session(connect_client());
    auto second = connect_client();
    EXPECT_TRUE(closed_by_peer(second));
    EXPECT_EQ(server_->stats().sessions_over_limit.load(), 1u);
}

std::shared_ptr<const Credentials> one_account(std::string_view user, std::string_view password) {
    auto users = std::make_shared<Credentials>();
    EXPECT_TRUE(users->add(user, password).ok());
    return users;
}

// Greeting offering username/password, then the RFC 1929 request; returns the auth status byte.
std::uint8_t login(tcp::socket& s, std::string_view user, std::string_view password) {
    std::vector<std::uint8_t> out;
    const Method methods[] = {Method::no_auth, Method::username_password};
    EXPECT_TRUE(build_method_request(out, methods));
    EXPECT_TRUE(build_auth_request(out, user, password));
    asio::write(s, asio::buffer(out));
    const auto selection = read_some(s, 2);
    EXPECT_EQ(selection[1], static_cast<std::uint8_t>(Method::username_password));
    return read_some(s, 2)[1];
}

TEST_F(ServerFixture, UsernamePasswordAuthenticationAdmitsTheRightPassword) {
    ServerOptions options;
    options.users = one_account("alice", "wonder land");
    start(options);
    tcp::acceptor target(client_io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    auto client = connect_client();
    ASSERT_EQ(login(client, "alice", "wonder land"), 0x00);
    std::vector<std::uint8_t> out;
    ASSERT_TRUE(build_request(out, Command::connect, loopback(target.local_endpoint().port())));
    asio::write(client, asio::buffer(out));
    EXPECT_EQ(read_some(client, 10)[1], static_cast<std::uint8_t>(Reply::succeeded));
}

TEST_F(ServerFixture, WrongPasswordIsRefusedAndClosed) {
    ServerOptions options;
    options.users = one_account("alice", "wonder land");
    start(options);
    auto client = connect_client();
    EXPECT_NE(login(client, "alice", "wonderland"), 0x00);
    EXPECT_TRUE(closed_by_peer(client));
}

TEST_F(ServerFixture, NoAuthenticationIsRefusedWhenAccountsExist) {
    ServerOptions options;
    options.users = one_account("alice", "x");
    start(options);
    auto client = connect_client();
    const std::uint8_t greeting[] = {5, 1, 0};
    asio::write(client, asio::buffer(greeting));
    EXPECT_EQ(read_some(client, 2)[1], 0xff);
    EXPECT_TRUE(closed_by_peer(client));
}

TEST_F(ServerFixture, RulesDenyWithRep02AndAllowWhatTheyAllow) {
    Rule deny_smtp;
    deny_smtp.name = "no-smtp";
    deny_smtp.action = Action::deny;
    deny_smtp.to_ports.push_back(PortRange{25, 25});
    Rule allow_loopback;
    allow_loopback.name = "loopback";
    allow_loopback.action = Action::allow;
    allow_loopback.to_networks.push_back(*net::Cidr::parse("127.0.0.0/8"));
    auto rules = RuleSet::create({deny_smtp, allow_loopback});
    ASSERT_TRUE(rules.ok());
    ServerOptions options;
    options.rules = std::make_shared<const RuleSet>(std::move(*rules));
    start(options);

    auto smtp = connect_client();
    EXPECT_EQ(request(smtp, Command::connect, loopback(25)).reply, Reply::not_allowed);
    tcp::acceptor target(client_io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const std::uint16_t port = target.local_endpoint().port();
    auto allowed = connect_client();
    EXPECT_EQ(request(allowed, Command::connect, loopback(port)).reply, Reply::succeeded);
    auto by_name = connect_client();  // a name that resolves into the allowed network
    EXPECT_EQ(request(by_name, Command::connect, *Address::from_domain("localhost", port)).reply,
              Reply::succeeded);
}

TEST_F(ServerFixture, ANameThatResolvesIntoADeniedNetworkIsDenied) {
    Rule deny_loopback;
    deny_loopback.name = "no-loopback";
    deny_loopback.action = Action::deny;
    deny_loopback.to_networks.push_back(*net::Cidr::parse("127.0.0.0/8"));
    deny_loopback.to_networks.push_back(*net::Cidr::parse("::1/128"));
    Rule rest;
    rest.name = "rest";
    rest.action = Action::allow;
    auto rules = RuleSet::create({deny_loopback, rest});
    ASSERT_TRUE(rules.ok());
    ServerOptions options;
    options.rules = std::make_shared<const RuleSet>(std::move(*rules));
    start(options);

    tcp::acceptor target(client_io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const std::uint16_t port = target.local_endpoint().port();
    auto literal = connect_client();
    EXPECT_EQ(request(literal, Command::connect, loopback(port)).reply, Reply::not_allowed);
    // The same target by a name: without resolving it for the rules, this is how a client steps around them.
    auto by_name = connect_client();
    EXPECT_EQ(request(by_name, Command::connect, *Address::from_domain("localhost", port)).reply,
              Reply::not_allowed);
}

TEST_F(ServerFixture, UpdatedOptionsApplyToNewSessions) {
    start();
    tcp::acceptor target(client_io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    auto before = connect_client();
    EXPECT_EQ(request(before, Command::connect, loopback(target.local_endpoint().port())).reply,
              Reply::succeeded);

    ServerOptions stricter;
    stricter.allow.push_back(*net::Cidr::parse("198.18.0.0/15"));
    std::promise<void> applied;
    asio::post(io_, [&] {
        server_->update_options(stricter);
        applied.set_value();
    });
    applied.get_future().wait();
    auto after = connect_client();
    EXPECT_TRUE(read_until_closed(after).empty()) << "closed at accept: no longer in the allow-list";

    // The session established before the change keeps relaying.
    tcp::socket peer = target.accept();
    const std::string payload = "still relayed";
    asio::write(before, asio::buffer(payload));
    std::string got(payload.size(), '\0');
    asio::read(peer, asio::buffer(got));
    EXPECT_EQ(got, payload);
}

TEST_F(ServerFixture, UdpAssociationsBeyondTheLimitGetRep01) {
    ServerOptions options;
    options.max_udp_associations = 1;
    start(options);
    auto first = connect_client();
    EXPECT_EQ(request(first, Command::udp_associate, loopback(0)).reply, Reply::succeeded);
    auto second = connect_client();
    EXPECT_EQ(request(second, Command::udp_associate, loopback(0)).reply, Reply::general_failure);
}

}  // namespace
}  // namespace sg::socks

namespace sg::socks {
namespace {

// Runs an admin call (a coroutine that visits the server's loops) on `io` and waits for its result.
template <class T>
T on_loop(asio::io_context& io, asio::awaitable<T> call) {
    return asio::co_spawn(io, std::move(call), asio::use_future).get();
}

TEST_F(ServerFixture, LiveSessionsAreListedWithTheirRelayedBytesAndEndByOperator) {
    start();
    tcp::acceptor target_acceptor(client_io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const auto target_port = target_acceptor.local_endpoint().port();
    auto client = connect_client();
    const auto reply = request(client, Command::connect, loopback(target_port));
    ASSERT_EQ(reply.reply, Reply::succeeded);
    tcp::socket target = target_acceptor.accept();
    const std::string down = "from the target";
    asio::write(target, asio::buffer(down));
    std::string got(down.size(), '\0');
    asio::read(client, asio::buffer(got));
    const std::string up = "client!";
    asio::write(client, asio::buffer(up));
    std::string got_up(up.size(), '\0');
    asio::read(target, asio::buffer(got_up));

    // The relay is still running: its bytes so far are in the snapshot, not only at the session's end.
    const auto page = on_loop(io_, server_->sessions(0, 10));
    ASSERT_EQ(page.total, 1U);
    ASSERT_EQ(page.sessions.size(), 1U);
    const auto& s = page.sessions[0];
    EXPECT_EQ(s.command, "connect");
    EXPECT_EQ(s.target, "127.0.0.1:" + std::to_string(target_port));
    EXPECT_EQ(s.user, "-");
    EXPECT_EQ(s.bytes_down, down.size());
    EXPECT_EQ(s.bytes_up, up.size());

    EXPECT_FALSE(on_loop(io_, server_->end_session(s.id + 1000)));
    EXPECT_TRUE(on_loop(io_, server_->end_session(s.id)));
    EXPECT_TRUE(closed_by_peer(client));
    for (int i = 0; i < 500 && on_loop(io_, server_->sessions(0, 10)).total != 0; ++i)
        std::this_thread::sleep_for(10ms);
    EXPECT_EQ(on_loop(io_, server_->sessions(0, 10)).total, 0U);
}

TEST_F(ServerFixture, SessionListIsPagedOldestFirst) {
    start();
    // Sessions still in their handshake are live too.
    auto first = connect_client();
    for (int i = 0; i < 500 && on_loop(io_, server_->sessions(0, 10)).total < 1; ++i)
        std::this_thread::sleep_for(10ms);
    auto second = connect_client();
    for (int i = 0; i < 500 && on_loop(io_, server_->sessions(0, 10)).total < 2; ++i)
        std::this_thread::sleep_for(10ms);
    const auto all = on_loop(io_, server_->sessions(0, 10));
    ASSERT_EQ(all.sessions.size(), 2U);
    EXPECT_LT(all.sessions[0].id, all.sessions[1].id);
    EXPECT_EQ(all.sessions[0].command, "-");
    const auto second_page = on_loop(io_, server_->sessions(1, 1));
    EXPECT_EQ(second_page.total, 2U);
    ASSERT_EQ(second_page.sessions.size(), 1U);
    EXPECT_EQ(second_page.sessions[0].id, all.sessions[1].id);
    EXPECT_TRUE(on_loop(io_, server_->sessions(5, 10)).sessions.empty());
}

// Two loops, each run by its own thread: sessions are spread over both, listed together in id order, and
// end_session() reaches a session on either loop (it runs the close on the session's own loop).
TEST(ServerLoopsTest, SessionsOnEveryLoopAreListedTogetherAndEndedOnTheirLoop) {
    asio::io_context loop0(1);
    asio::io_context loop1(1);
    auto keep0 = asio::make_work_guard(loop0);
    auto keep1 = asio::make_work_guard(loop1);
    auto server = std::make_unique<Server>(std::vector<asio::io_context*>{&loop0, &loop1}, ServerOptions{});
    ASSERT_EQ(server->loop_count(), 2U);
    std::string error;
    const auto bound = server->listen(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0), error);
    ASSERT_TRUE(bound.ok()) << error;
    std::thread thread0([&] { loop0.run(); });
    std::thread thread1([&] { loop1.run(); });

    asio::io_context client_io;
    tcp::acceptor target_acceptor(client_io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const auto target_port = target_acceptor.local_endpoint().port();
    constexpr std::size_t k_clients = 6;
    std::vector<tcp::socket> clients;
    std::vector<tcp::socket> targets;
    for (std::size_t i = 0; i < k_clients; ++i) {
        clients.emplace_back(client_io).connect(*bound);
        ASSERT_EQ(request(clients.back(), Command::connect, loopback(target_port)).reply, Reply::succeeded);
        targets.push_back(target_acceptor.accept());
    }
    const auto page = on_loop(loop0, server->sessions(0, 100));
    ASSERT_EQ(page.total, k_clients);
    ASSERT_EQ(page.sessions.size(), k_clients);
    for (std::size_t i = 1; i < page.sessions.size(); ++i)
        EXPECT_LT(page.sessions[i - 1].id, page.sessions[i].id);
    for (const auto& s : page.sessions)
        EXPECT_EQ(s.command, "connect");

    // Round robin: the first two sessions run on different loops.
    EXPECT_TRUE(on_loop(loop0, server->end_session(page.sessions[0].id)));
    EXPECT_TRUE(on_loop(loop1, server->end_session(page.sessions[1].id)));
    EXPECT_TRUE(closed_by_peer(clients[0]));
    EXPECT_TRUE(closed_by_peer(clients[1]));
    for (int i = 0; i < 500 && on_loop(loop0, server->sessions(0, 100)).total != k_clients - 2; ++i)
        std::this_thread::sleep_for(10ms);
    EXPECT_EQ(on_loop(loop0, server->sessions(0, 100)).total, k_clients - 2);
    // The others still relay.
    const std::string up = "still here";
    asio::write(clients[2], asio::buffer(up));
    std::string got(up.size(), '\0');
    asio::read(targets[2], asio::buffer(got));
    EXPECT_EQ(got, up);

    server->close_sessions();
    for (std::size_t i = 2; i < k_clients; ++i)
        EXPECT_TRUE(closed_by_peer(clients[i]));
    asio::post(loop0, [&] { server->stop_accepting(); });
    keep0.reset();
    keep1.reset();
    loop0.stop();
    loop1.stop();
    thread0.join();
    thread1.join();
    server.reset();
}

}  // namespace
}  // namespace sg::socks
