// RelaySockets on a local io_context: ports from the configured range, even ports, the held neighbour of a
// reservation (bound, not watched until claimed), exhaustion, closing, and a datagram to a relayed address
// reaching the receiver through the edge reactor.

#include "turn/relay_sockets.hpp"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <chrono>
#include <set>
#include <vector>

#include "net/udp_batch.hpp"

namespace sg::turn {
namespace {

// A range of loopback ports that is very likely free: tests bind there and skip the ones taken.
constexpr std::uint16_t k_first = 47100;
constexpr std::uint16_t k_last = 47109;

// Records what the server would do: read a readable socket, forget a closing one.
struct Recorder final : RelaySockets::Receiver {
    bool on_relay_readable(UdpPort& port, const stun::Address& relayed) override {
        const int got = batch.receive_now(port.fd());
        if (got > 0)
            for (std::size_t i = 0; i < batch.size(); ++i)
                received.push_back(relayed);
        return false;
    }
    void on_relay_closing(UdpPort& port) override { closing.push_back(port.fd()); }
    net::UdpReceiveBatch batch{8, 2048};
    std::vector<stun::Address> received;
    std::vector<int> closing;
};

struct Fixture {
    explicit Fixture(std::uint16_t first = k_first, std::uint16_t last = k_last)
        : sockets(reactor, {asio::ip::make_address("127.0.0.1")}, first, last, recorder) {}
    asio::io_context io;
    net::EdgeReactor reactor{io, net::Unhandled::turn_data};
    Recorder recorder;
    RelaySockets sockets;
};

TEST(RelaySockets, OpensPortsFromTheRangeOfTheAskedFamily) {
    Fixture f;
    auto& sockets = f.sockets;
    EXPECT_TRUE(sockets.supports(stun::Family::ipv4));
    EXPECT_FALSE(sockets.supports(stun::Family::ipv6));
    EXPECT_FALSE(sockets.open(RelayRequest{stun::Family::ipv6}));
    const auto a = sockets.open(RelayRequest{stun::Family::ipv4});
    ASSERT_TRUE(a);
    EXPECT_EQ(stun::to_string(*a).substr(0, 10), "127.0.0.1:");
    EXPECT_GE(a->port, k_first);
    EXPECT_LE(a->port, k_last);
    ASSERT_NE(sockets.find(*a), nullptr);
    EXPECT_EQ(sockets.find(*a)->local_endpoint().port(), a->port);
    EXPECT_EQ(f.reactor.watched(), 1U);
    RelayRequest even{stun::Family::ipv4};
    even.even_port = true;
    const auto b = sockets.open(even);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->port % 2, 0);
    EXPECT_NE(*a, *b);
    const int fd_a = sockets.find(*a)->fd();
    sockets.close(*a);
    EXPECT_EQ(sockets.find(*a), nullptr);
    EXPECT_EQ(sockets.open_count(), 1U);
    EXPECT_EQ(f.reactor.watched(), 1U);
    EXPECT_EQ(f.recorder.closing, std::vector<int>{fd_a});  // told before the descriptor closed
}

TEST(RelaySockets, ReservationHoldsTheNextPortUntilClaimed) {
    Fixture f;
    auto& sockets = f.sockets;
    RelayRequest pair{stun::Family::ipv4};
    pair.even_port = true;
    pair.reserve_next = true;
    const auto rtp = sockets.open(pair);
    ASSERT_TRUE(rtp);
    EXPECT_EQ(rtp->port % 2, 0);
    auto rtcp = *rtp;
    ++rtcp.port;
    EXPECT_EQ(sockets.open_count(), 2U);     // both bound...
    EXPECT_EQ(f.reactor.watched(), 1U);      // ...only the first relaying
    ASSERT_NE(sockets.find(rtcp), nullptr);  // the held one cannot be taken by anyone else
    EXPECT_TRUE(sockets.claim(rtcp));
    EXPECT_EQ(f.reactor.watched(), 2U);
    sockets.close(rtcp);
    EXPECT_EQ(f.reactor.watched(), 1U);
    EXPECT_FALSE(sockets.claim(rtcp));
}

TEST(RelaySockets, ExhaustedRangeGivesNothing) {
    Fixture f(k_first, k_first + 1);
    auto& sockets = f.sockets;
    std::set<stun::Address> got;
    for (int i = 0; i < 3; ++i)
        if (const auto a = sockets.open(RelayRequest{stun::Family::ipv4})) got.insert(*a);
    ASSERT_FALSE(got.empty());
    EXPECT_LE(got.size(), 2U);  // two ports at most (fewer if another process holds one)
    EXPECT_FALSE(sockets.open(RelayRequest{stun::Family::ipv4}));
    sockets.close(*got.begin());
    EXPECT_TRUE(sockets.open(RelayRequest{stun::Family::ipv4}));  // a closed port comes back
}

TEST(RelaySockets, ADatagramToARelayedAddressReachesTheReceiver) {
    Fixture f;
    const auto relayed = f.sockets.open(RelayRequest{stun::Family::ipv4});
    ASSERT_TRUE(relayed);
    UdpPort sender(false);
    ASSERT_TRUE(sender.valid());
    const std::uint8_t payload[] = {1, 2, 3};
    ASSERT_TRUE(sender.send_to(payload, to_endpoint(*relayed)));
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (f.recorder.received.empty() && std::chrono::steady_clock::now() < give_up)
        f.io.run_one_for(std::chrono::milliseconds(100));
    ASSERT_EQ(f.recorder.received.size(), 1U);
    EXPECT_EQ(f.recorder.received[0], *relayed);
    f.sockets.close(*relayed);
}

TEST(RelaySockets, ConvertsAddressesBothWays) {
    const auto v4 = asio::ip::udp::endpoint(asio::ip::make_address("192.0.2.7"), 3478);
    EXPECT_EQ(to_endpoint(to_stun(v4)), v4);
    const auto v6 = asio::ip::udp::endpoint(asio::ip::make_address("2001:db8::7"), 3478);
    EXPECT_EQ(to_endpoint(to_stun(v6)), v6);
    const auto mapped = asio::ip::udp::endpoint(asio::ip::make_address("::ffff:192.0.2.7"), 3478);
    EXPECT_EQ(to_stun(mapped), to_stun(v4));  // IPv4-mapped clients are seen as IPv4
}

}  // namespace
}  // namespace sg::turn
