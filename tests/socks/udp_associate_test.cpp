// SOCKS5 UDP ASSOCIATE (RFC 1928 sections 4, 6, 7) through the server on loopback, IPv4 and IPv6: relaying
// both ways, who may send and whose replies come back, FRAG and bad headers, names, the association's end.
// The client and the targets are plain blocking sockets driven by the test, so every datagram is checked.
#include <gtest/gtest.h>
#include <poll.h>

#include <asio/read.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <functional>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "net/clock.hpp"
#include "net/udp_batch.hpp"
#include "socks/server.hpp"
#include "socks/udp_relay.hpp"
#include "socks5/socks5.hpp"

namespace sg::socks {
namespace {

using asio::ip::tcp;
using asio::ip::udp;
using namespace std::chrono_literals;

Bytes as_bytes(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string as_string(Bytes b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

Address to_address(const udp::endpoint& e) {
    return to_socks_address(e);
}

struct Received {
    std::vector<std::uint8_t> bytes;
    udp::endpoint from;
};

// One datagram within `timeout`, or nothing.
std::optional<Received> receive(udp::socket& s, std::chrono::milliseconds timeout = 2000ms) {
    ::pollfd pfd{s.native_handle(), POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
    Received r;
    r.bytes.resize(70000);
    asio::error_code ec;
    const std::size_t n = s.receive_from(asio::buffer(r.bytes), r.from, 0, ec);
    if (ec) return std::nullopt;
    r.bytes.resize(n);
    return r;
}

// A whole SOCKS UDP datagram for `target`.
std::vector<std::uint8_t> encapsulate(const Address& target, const std::string& payload,
                                      std::uint8_t frag = 0) {
    std::vector<std::uint8_t> out;
    build_udp_datagram(out, UdpHeader{frag, target}, as_bytes(payload));
    return out;
}

std::uint64_t dropped(std::atomic<std::uint64_t> UdpRelayStats::*counter) {
    return (udp_relay_stats().*counter).load();
}

bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds limit = 3000ms) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() > end) return false;
        std::this_thread::sleep_for(10ms);
    }
    return true;
}

// A server on its own io_context thread; the parameter is the loopback address it (and everything) uses.
class UdpAssociateTest : public ::testing::TestWithParam<const char*> {
protected:
    void SetUp() override {
        loopback_ = asio::ip::make_address(GetParam());
        udp::socket probe(client_io_);
        asio::error_code ec;
        probe.open(loopback_.is_v4() ? udp::v4() : udp::v6(), ec);
        if (!ec) probe.bind(udp::endpoint(loopback_, 0), ec);
        if (ec) GTEST_SKIP() << "no " << GetParam() << " here: " << ec.message();
    }

    void start(ServerOptions options = {}) {
        server_ = std::make_unique<Server>(io_, std::move(options));
        std::string error;
        const auto bound = server_->listen(tcp::endpoint(loopback_, 0), error);
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
        net::set_batch_syscalls_enabled(true);
    }

    udp::socket open_udp(const asio::ip::address& address) {
        return udp::socket(client_io_, udp::endpoint(address, 0));
    }
    udp::socket open_udp() { return open_udp(loopback_); }

    // Greeting and UDP ASSOCIATE in one write; returns the control connection and the relay's address.
    std::pair<tcp::socket, udp::endpoint> associate(const Address& expected_source = Address{}) {
        tcp::socket control(client_io_);
        control.connect(endpoint_);
        std::vector<std::uint8_t> out;
        const Method methods[] = {Method::no_auth};
        EXPECT_TRUE(build_method_request(out, methods));
        EXPECT_TRUE(build_request(out, Command::udp_associate, expected_source));
        asio::write(control, asio::buffer(out));
        std::uint8_t selection[2] = {};
        asio::read(control, asio::buffer(selection));
        EXPECT_EQ(selection[1], 0x00);
        std::vector<std::uint8_t> in;
        for (;;) {
            std::uint8_t byte = 0;
            asio::error_code ec;
            asio::read(control, asio::buffer(&byte, 1), ec);
            if (ec) {
                ADD_FAILURE() << "control connection ended before the reply: " << ec.message();
                return {std::move(control), udp::endpoint()};
            }
            in.push_back(byte);
            const auto reply = parse_reply(in);
            if (reply.failed()) {
                ADD_FAILURE() << reply.error;
                return {std::move(control), udp::endpoint()};
            }
            if (!reply.done()) continue;
            EXPECT_EQ(reply.value.reply, Reply::succeeded);
            const Address& bnd = reply.value.bound;
            EXPECT_EQ(bnd.is_ipv4(), loopback_.is_v4());
            const asio::ip::address addr = bnd.is_ipv4()
                                               ? asio::ip::address(asio::ip::address_v4(bnd.ipv4()))
                                               : asio::ip::address(asio::ip::address_v6(bnd.ipv6()));
            return {std::move(control), udp::endpoint(addr, bnd.port())};
        }
    }

    // Sends `payload` to `target` through the relay and checks what the target gets; returns the endpoint it
    // came from (the relay's target-facing socket).
    udp::endpoint relay_to(udp::socket& client, const udp::endpoint& relay, udp::socket& target,
                           const std::string& payload) {
        client.send_to(asio::buffer(encapsulate(to_address(target.local_endpoint()), payload)), relay);
        const auto got = receive(target);
        if (!got) {
            ADD_FAILURE() << "the target got nothing";
            return {};
        }
        EXPECT_EQ(as_string(got->bytes), payload);
        return got->from;
    }

    // The target answers `to` (the relay); checks the client gets it with the target in the header.
    void reply_from(udp::socket& target, const udp::endpoint& to, udp::socket& client,
                    const udp::endpoint& relay, const std::string& payload) {
        target.send_to(asio::buffer(payload), to);
        const auto got = receive(client);
        ASSERT_TRUE(got) << "the client got nothing";
        EXPECT_EQ(got->from, relay);
        const auto parsed = parse_udp_datagram(got->bytes);
        ASSERT_TRUE(parsed) << parsed.error();
        EXPECT_EQ(parsed->header.fragment, 0);
        EXPECT_EQ(parsed->header.destination, to_address(target.local_endpoint()));
        EXPECT_EQ(as_string(parsed->data), payload);
    }

    // Returns once the server's thread has run everything that was ready (twice round: a send completed
    // there may queue its follow-up after our first visit was queued).
    void sync() {
        for (int round = 0; round < 2; ++round) {
            std::promise<void> visited;
            asio::post(io_, [&visited] { visited.set_value(); });
            visited.get_future().wait();
        }
    }

    static bool closed_by_peer(tcp::socket& s, std::chrono::milliseconds timeout = 3000ms) {
        ::pollfd pfd{s.native_handle(), POLLIN, 0};
        if (::poll(&pfd, 1, static_cast<int>(timeout.count())) <= 0) return false;
        std::uint8_t byte = 0;
        asio::error_code ec;
        s.read_some(asio::buffer(&byte, 1), ec);
        return ec == asio::error::eof || ec == asio::error::connection_reset;
    }

    // Nothing listens on `e` any more: a connected UDP socket gets the ICMP port-unreachable back.
    bool port_closed(const udp::endpoint& e) {
        udp::socket probe(client_io_, udp::endpoint(e.address(), 0));
        probe.connect(e);
        probe.send(asio::buffer(std::string("probe")));
        ::pollfd pfd{probe.native_handle(), POLLIN, 0};
        ::poll(&pfd, 1, 1000);
        std::uint8_t byte = 0;
        asio::error_code ec;
        probe.receive(asio::buffer(&byte, 1), 0, ec);
        return ec == asio::error::connection_refused;
    }

    asio::ip::address loopback_;
    // Emplaced by tests that move the clock themselves; declared first, so it outlives the server.
    std::optional<net::ManualTime> time_;
    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
    asio::io_context client_io_;
    std::unique_ptr<Server> server_;
    tcp::endpoint endpoint_;
    std::thread thread_;
};

TEST_P(UdpAssociateTest, RelaysBothWaysAndAnnouncesTheClientFacingSocket) {
    start();
    auto [control, relay] = associate();
    EXPECT_EQ(relay.address(), loopback_);  // the address the control connection arrived on
    EXPECT_NE(relay.port(), 0);
    auto client = open_udp();
    auto target = open_udp();
    const auto up_before = udp_relay_stats().datagrams_up.load();
    const auto down_before = udp_relay_stats().datagrams_down.load();

    const auto relay_out = relay_to(client, relay, target, "hello target");
    EXPECT_EQ(relay_out.address(), loopback_);
    EXPECT_NE(relay_out.port(), relay.port());  // a separate target-facing socket
    reply_from(target, relay_out, client, relay, "hello client");
    reply_from(target, relay_out, client, relay, "");  // an empty payload is a datagram too
    // Counted by the server's thread right after the send that the client has just seen arrive.
    EXPECT_TRUE(wait_for([&] { return udp_relay_stats().datagrams_down.load() - down_before == 2; }));
    EXPECT_EQ(udp_relay_stats().datagrams_up.load() - up_before, 1u);
}

TEST_P(UdpAssociateTest, BurstsKeepTheirOrderAndLargeDatagramsArriveWhole) {
    start();
    auto [control, relay] = associate();
    auto client = open_udp();
    auto target = open_udp();
    const auto target_address = to_address(target.local_endpoint());
    constexpr int k_count = 64;
    for (int i = 0; i < k_count; ++i) {
        client.send_to(asio::buffer(encapsulate(target_address, "up " + std::to_string(i))), relay);
    }
    udp::endpoint relay_out;
    for (int i = 0; i < k_count; ++i) {
        const auto got = receive(target);
        ASSERT_TRUE(got) << i;
        EXPECT_EQ(as_string(got->bytes), "up " + std::to_string(i));
        relay_out = got->from;
    }
    for (int i = 0; i < k_count; ++i)
        target.send_to(asio::buffer("down " + std::to_string(i)), relay_out);
    for (int i = 0; i < k_count; ++i) {
        const auto got = receive(client);
        ASSERT_TRUE(got) << i;
        const auto parsed = parse_udp_datagram(got->bytes);
        ASSERT_TRUE(parsed);
        EXPECT_EQ(as_string(parsed->data), "down " + std::to_string(i));
    }

    std::string big(60000, '\0');
    for (std::size_t i = 0; i < big.size(); ++i)
        big[i] = static_cast<char>('a' + i % 26);
    EXPECT_EQ(relay_to(client, relay, target, big), relay_out);
    reply_from(target, relay_out, client, relay, big);
}

TEST_P(UdpAssociateTest, WorksWithTheOneDatagramPerCallFallback) {
    net::set_batch_syscalls_enabled(false);
    start();
    auto [control, relay] = associate();
    auto client = open_udp();
    auto target = open_udp();
    const auto relay_out = relay_to(client, relay, target, "fallback up");
    reply_from(target, relay_out, client, relay, "fallback down");
}

TEST_P(UdpAssociateTest, FragmentsAreDroppedAndCounted) {
    start();
    auto [control, relay] = associate();
    auto client = open_udp();
    auto target = open_udp();
    const auto before = dropped(&UdpRelayStats::dropped_fragment);
    for (const std::uint8_t frag : {0x01, 0x7f, 0x80, 0xff}) {
        client.send_to(asio::buffer(encapsulate(to_address(target.local_endpoint()), "fragment", frag)),
                       relay);
    }
    relay_to(client, relay, target, "standalone");  // relayed, and nothing before it was
    EXPECT_FALSE(receive(target, 200ms));
    EXPECT_EQ(dropped(&UdpRelayStats::dropped_fragment) - before, 4u);
}

TEST_P(UdpAssociateTest, BadHeadersAreDroppedAndCounted) {
    start();
    auto [control, relay] = associate();
    auto client = open_udp();
    auto target = open_udp();
    std::vector<std::vector<std::uint8_t>> bad = {
        {},                                   // empty
        {0, 0},                               // truncated before FRAG
        {0, 1, 0, 1, 127, 0, 0, 1, 0, 80},    // RSV != 0
        {0, 0, 0, 5, 127, 0, 0, 1, 0, 80},    // unknown ATYP
        {0, 0, 0, 1, 127, 0, 0},              // truncated address
        {0, 0, 0, 3, 0, 0, 80},               // empty domain
        {0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0}  // truncated IPv6 address
    };
    auto no_port = to_address(target.local_endpoint());
    no_port.set_port(0);
    auto unspecified = encapsulate(Address::from_ipv4({0, 0, 0, 0}, target.local_endpoint().port()), "x");
    auto unspecified6 = encapsulate(Address::from_ipv6({}, target.local_endpoint().port()), "x");
    bad.push_back(encapsulate(no_port, "port 0"));
    bad.push_back(unspecified);
    bad.push_back(unspecified6);
    const auto before = dropped(&UdpRelayStats::dropped_bad_header);
    for (const auto& datagram : bad)
        client.send_to(asio::buffer(datagram), relay);
    relay_to(client, relay, target, "after the garbage");
    EXPECT_FALSE(receive(target, 200ms));
    EXPECT_EQ(dropped(&UdpRelayStats::dropped_bad_header) - before, bad.size());
}

TEST_P(UdpAssociateTest, OnlyTheFirstSourcePortIsAccepted) {
    start();
    auto [control, relay] = associate();  // DST 0.0.0.0:0: the port is latched from the first datagram
    auto client = open_udp();
    auto other = open_udp();  // same address, another port: another program on the client's host
    auto target = open_udp();
    const auto relay_out = relay_to(client, relay, target, "first");
    const auto before = dropped(&UdpRelayStats::dropped_source);
    other.send_to(asio::buffer(encapsulate(to_address(target.local_endpoint()), "intruder")), relay);
    EXPECT_FALSE(receive(target, 300ms));
    EXPECT_EQ(dropped(&UdpRelayStats::dropped_source) - before, 1u);
    // The answer still goes to the latched port only.
    reply_from(target, relay_out, client, relay, "to the first");
    EXPECT_FALSE(receive(other, 200ms));
}

TEST_P(UdpAssociateTest, ThePortGivenInTheRequestIsTheOnlyOneAccepted) {
    start();
    auto client = open_udp();
    auto other = open_udp();
    auto target = open_udp();
    auto [control, relay] = associate(to_address(client.local_endpoint()));
    const auto before = dropped(&UdpRelayStats::dropped_source);
    other.send_to(asio::buffer(encapsulate(to_address(target.local_endpoint()), "first but wrong")), relay);
    EXPECT_FALSE(receive(target, 300ms));
    EXPECT_EQ(dropped(&UdpRelayStats::dropped_source) - before, 1u);
    const auto relay_out = relay_to(client, relay, target, "declared port");
    reply_from(target, relay_out, client, relay, "back");
}

// IPv6 has one loopback address, so a second source address exists only on IPv4 (all of 127/8).
class UdpAssociateV4Test : public UdpAssociateTest {};

TEST_P(UdpAssociateV4Test, AnotherSourceAddressIsDropped) {
    start();
    auto [control, relay] = associate();
    auto stranger = open_udp(asio::ip::make_address("127.0.0.2"));  // all of 127/8 is loopback
    auto client = open_udp();
    auto target = open_udp();
    const auto before = dropped(&UdpRelayStats::dropped_source);
    stranger.send_to(asio::buffer(encapsulate(to_address(target.local_endpoint()), "stranger")), relay);
    EXPECT_FALSE(receive(target, 300ms));
    EXPECT_EQ(dropped(&UdpRelayStats::dropped_source) - before, 1u);
    relay_to(client, relay, target, "the client");  // and it did not latch the port either
}

TEST_P(UdpAssociateTest, RulesApplyToEveryDatagramsDestination) {
    auto target = open_udp();
    auto denied = open_udp();
    // Allowed: UDP to the target's port only. The ASSOCIATE request names no destination (0.0.0.0:0 or
    // the client's own address), so it passes provisionally, and each datagram is checked.
    Rule to_target;
    to_target.name = "to-target";
    to_target.action = Action::allow;
    to_target.commands = {Command::udp_associate};
    to_target.to_ports = {PortRange{target.local_endpoint().port(), target.local_endpoint().port()}};
    auto rules = RuleSet::create({to_target});
    ASSERT_TRUE(rules.ok());
    ServerOptions options;
    options.rules = std::make_shared<const RuleSet>(std::move(*rules));
    start(options);
    auto [control, relay] = associate();
    auto client = open_udp();
    const auto before = dropped(&UdpRelayStats::dropped_denied);
    client.send_to(asio::buffer(encapsulate(to_address(denied.local_endpoint()), "not allowed")), relay);
    relay_to(client, relay, target, "allowed");  // relayed, and the denied one before it was not
    EXPECT_FALSE(receive(denied, 200ms));
    EXPECT_EQ(dropped(&UdpRelayStats::dropped_denied) - before, 1u);
}

TEST_P(UdpAssociateTest, RepliesOnlyFromEndpointsTheClientSentTo) {
    start();
    auto [control, relay] = associate();
    auto client = open_udp();
    auto target = open_udp();
    auto stranger = open_udp();  // same host as the target, another port: never sent to
    const auto relay_out = relay_to(client, relay, target, "to the target");
    const auto before = dropped(&UdpRelayStats::dropped_unknown_peer);
    stranger.send_to(asio::buffer(std::string("unsolicited")), relay_out);
    EXPECT_FALSE(receive(client, 300ms));
    EXPECT_EQ(dropped(&UdpRelayStats::dropped_unknown_peer) - before, 1u);
    reply_from(target, relay_out, client, relay, "solicited");
    // Once the client has sent to it, the other endpoint's replies pass too.
    EXPECT_EQ(relay_to(client, relay, stranger, "now you"), relay_out);
    reply_from(stranger, relay_out, client, relay, "welcome");
}

TEST_P(UdpAssociateTest, DomainTargetsAreResolvedByTheGateway) {
    start();
    // "localhost" may resolve to either loopback address: listen on both with one port.
    udp::socket v4(client_io_);
    udp::socket v6(client_io_);
    for (int attempt = 0; attempt < 20; ++attempt) {
        v4 = udp::socket(client_io_, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        v6 = udp::socket(client_io_);
        asio::error_code ec;
        v6.open(udp::v6(), ec);
        if (!ec) v6.bind(udp::endpoint(asio::ip::make_address("::1"), v4.local_endpoint().port()), ec);
        if (!ec || ec != asio::error::address_in_use) break;
    }
    const std::uint16_t port = v4.local_endpoint().port();
    auto [control, relay] = associate();
    auto client = open_udp();
    const auto name = Address::from_domain("LocalHost", port);  // names compare case-insensitively
    ASSERT_TRUE(name);
    for (int i = 0; i < 3; ++i)  // resolved once, then from the association's cache
        client.send_to(asio::buffer(encapsulate(*name, "by name " + std::to_string(i))), relay);
    for (int i = 0; i < 3; ++i) {
        ::pollfd fds[2] = {{v4.native_handle(), POLLIN, 0},
                           {v6.is_open() ? v6.native_handle() : -1, POLLIN, 0}};
        ASSERT_GT(::poll(fds, 2, 2000), 0) << "nothing arrived for datagram " << i;
        udp::socket& answering = (fds[0].revents & POLLIN) != 0 ? v4 : v6;
        const auto got = receive(answering);
        ASSERT_TRUE(got) << i;
        EXPECT_EQ(as_string(got->bytes), "by name " + std::to_string(i));
        if (i == 2) reply_from(answering, got->from, client, relay, "the answer names the address");
    }
}

TEST_P(UdpAssociateTest, ClosingTheControlConnectionEndsTheAssociationAndFreesItsSockets) {
    start();
    const auto live_before = live_udp_associations();
    auto [control, relay] = associate();
    EXPECT_EQ(live_udp_associations(), live_before + 1);
    auto client = open_udp();
    auto target = open_udp();
    const auto relay_out = relay_to(client, relay, target, "before the end");
    control.close();
    EXPECT_TRUE(wait_for([&] { return live_udp_associations() == live_before; }));
    EXPECT_TRUE(port_closed(relay));
    EXPECT_TRUE(port_closed(relay_out));
    client.send_to(asio::buffer(encapsulate(to_address(target.local_endpoint()), "after the end")), relay);
    EXPECT_FALSE(receive(target, 200ms));
}

TEST_P(UdpAssociateTest, ServerShutdownEndsTheAssociation) {
    start();
    const auto live_before = live_udp_associations();
    auto [control, relay] = associate();
    asio::post(io_, [this] { server_->close_sessions(); });
    EXPECT_TRUE(closed_by_peer(control));
    EXPECT_TRUE(wait_for([&] { return live_udp_associations() == live_before; }));
    EXPECT_TRUE(port_closed(relay));
}

// On manual time: the test moves the clock, so a loaded machine cannot stretch a gap into a timeout.
TEST_P(UdpAssociateTest, IdleAssociationsEndAndTrafficKeepsThemAlive) {
    net::ManualTime& time = time_.emplace();
    ServerOptions options;
    options.idle_timeout = 400ms;
    start(options);
    auto [control, relay] = associate();
    auto client = open_udp();
    auto target = open_udp();
    sync();
    for (int i = 0; i < 8; ++i) {  // 8 x 100 ms, twice the idle timeout, with traffic all along
        time.advance(100ms);
        relay_to(client, relay, target, "keepalive");
        sync();
    }
    time.advance(399ms);  // then silence, just short of the timeout
    ::pollfd pfd{control.native_handle(), POLLIN, 0};
    EXPECT_EQ(::poll(&pfd, 1, 50), 0) << "ended despite traffic";
    time.advance(1ms);
    EXPECT_TRUE(closed_by_peer(control));  // closed by the idle timeout
    EXPECT_TRUE(port_closed(relay));
}

TEST_P(UdpAssociateTest, BytesOnTheControlConnectionDoNotEndIt) {
    start();
    auto [control, relay] = associate();
    asio::write(control, asio::buffer(std::string("stray bytes")));
    auto client = open_udp();
    auto target = open_udp();
    const auto relay_out = relay_to(client, relay, target, "still relaying");
    reply_from(target, relay_out, client, relay, "yes");
}

INSTANTIATE_TEST_SUITE_P(Loopback4, UdpAssociateV4Test, ::testing::Values("127.0.0.1"));
INSTANTIATE_TEST_SUITE_P(Loopback, UdpAssociateTest, ::testing::Values("127.0.0.1", "::1"),
                         [](const ::testing::TestParamInfo<const char*>& param_info) {
                             return std::string(param_info.param[0] == ':' ? "ipv6" : "ipv4");
                         });

// --- the pure parts ---------------------------------------------------------------------------------------

udp::endpoint ep(const char* address, std::uint16_t port) {
    return {asio::ip::make_address(address), port};
}

TEST(ClientSourceFilter, LatchesThePortOfTheFirstAcceptedDatagram) {
    ClientSourceFilter f(asio::ip::make_address("192.0.2.1"), 0);
    EXPECT_FALSE(f.endpoint());
    EXPECT_TRUE(f.accepts(ep("192.0.2.1", 1000)));
    EXPECT_TRUE(f.accepts(ep("::ffff:192.0.2.1", 1001)));  // IPv4-mapped is the same client
    EXPECT_FALSE(f.accepts(ep("192.0.2.2", 1000)));
    f.latch(1000);
    f.latch(2000);  // the first one stays
    EXPECT_TRUE(f.accepts(ep("192.0.2.1", 1000)));
    EXPECT_FALSE(f.accepts(ep("192.0.2.1", 2000)));
    ASSERT_TRUE(f.endpoint());
    EXPECT_EQ(*f.endpoint(), ep("192.0.2.1", 1000));
}

TEST(ClientSourceFilter, AGivenPortIsFixedFromTheStart) {
    ClientSourceFilter f(asio::ip::make_address("2001:db8::1"), 5004);
    EXPECT_TRUE(f.accepts(ep("2001:db8::1", 5004)));
    EXPECT_FALSE(f.accepts(ep("2001:db8::1", 5005)));
    EXPECT_FALSE(f.accepts(ep("2001:db8::2", 5004)));
    f.latch(9);
    EXPECT_EQ(*f.endpoint(), ep("2001:db8::1", 5004));
}

TEST(PeerSet, ForgetsTheOldestPastItsLimit) {
    PeerSet peers(3);
    EXPECT_TRUE(peers.add(ep("192.0.2.1", 1)));
    EXPECT_FALSE(peers.add(ep("192.0.2.1", 1)));  // already there
    EXPECT_TRUE(peers.add(ep("192.0.2.1", 2)));
    EXPECT_TRUE(peers.add(ep("2001:db8::1", 1)));
    EXPECT_TRUE(peers.contains(ep("192.0.2.1", 1)));
    EXPECT_FALSE(peers.contains(ep("192.0.2.2", 1)));
    EXPECT_TRUE(peers.add(ep("192.0.2.1", 3)));
    EXPECT_EQ(peers.size(), 3u);
    EXPECT_FALSE(peers.contains(ep("192.0.2.1", 1)));
    EXPECT_TRUE(peers.contains(ep("192.0.2.1", 2)));
    EXPECT_TRUE(peers.contains(ep("192.0.2.1", 3)));
}

TEST(NameCache, CachesAnswersAndFailuresUntilTheyExpire) {
    using Clock = NameCache::Clock;
    NameCache cache(2);
    const auto now = Clock::now();
    cache.put("Origin4.Test", asio::ip::make_address("198.18.3.2"), now + 10s);
    cache.put("nowhere.test", std::nullopt, now + 1s);
    const auto* hit = cache.find("origin4.test", now);
    ASSERT_NE(hit, nullptr);
    EXPECT_EQ(*hit->address, asio::ip::make_address("198.18.3.2"));
    hit = cache.find("NOWHERE.test", now);
    ASSERT_NE(hit, nullptr);
    EXPECT_FALSE(hit->address);
    EXPECT_EQ(cache.find("nowhere.test", now + 2s), nullptr);  // expired
    cache.put("third.test", asio::ip::make_address("::1"), now + 10s);
    EXPECT_EQ(cache.size(), 2u);
    EXPECT_EQ(cache.find("origin4.test", now), nullptr);  // the oldest went
    EXPECT_NE(cache.find("third.test", now), nullptr);
}

TEST(ToSocksAddress, UnmapsIpv4MappedAddresses) {
    EXPECT_EQ(to_socks_address(ep("::ffff:198.18.3.2", 7)), Address::from_ipv4({198, 18, 3, 2}, 7));
    EXPECT_EQ(to_socks_address(ep("2001:2:0:4::2", 7)).to_string(), "[2001:2:0:4::2]:7");
}

}  // namespace
}  // namespace sg::socks
