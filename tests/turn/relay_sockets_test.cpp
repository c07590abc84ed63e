// RelaySockets on a local io_context: ports from the configured range, even ports, the held neighbour of a
// reservation (bound, not relaying until claimed), exhaustion, and closing.

#include "turn/relay_sockets.hpp"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <set>

namespace sg::turn {
namespace {

// A range of loopback ports that is very likely free: tests bind there and skip the ones taken.
constexpr std::uint16_t k_first = 47100;
constexpr std::uint16_t k_last = 47109;

struct Opened {
    std::vector<stun::Address> started;  // receive loops the server would start
};

RelaySockets make(asio::io_context& io, Opened& opened, std::uint16_t first = k_first,
                  std::uint16_t last = k_last) {
    return RelaySockets(io, {asio::ip::make_address("127.0.0.1")}, first, last,
                        [&opened](const RelaySockets::Socket&, const stun::Address& relayed) {
                            opened.started.push_back(relayed);
                        });
}

TEST(RelaySockets, OpensPortsFromTheRangeOfTheAskedFamily) {
    asio::io_context io;
    Opened opened;
    auto sockets = make(io, opened);
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
    ASSERT_EQ(opened.started.size(), 1U);
    EXPECT_EQ(opened.started[0], *a);
    RelayRequest even{stun::Family::ipv4};
    even.even_port = true;
    const auto b = sockets.open(even);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->port % 2, 0);
    EXPECT_NE(*a, *b);
    sockets.close(*a);
    EXPECT_EQ(sockets.find(*a), nullptr);
    EXPECT_EQ(sockets.open_count(), 1U);
}

TEST(RelaySockets, ReservationHoldsTheNextPortUntilClaimed) {
    asio::io_context io;
    Opened opened;
    auto sockets = make(io, opened);
    RelayRequest pair{stun::Family::ipv4};
    pair.even_port = true;
    pair.reserve_next = true;
    const auto rtp = sockets.open(pair);
    ASSERT_TRUE(rtp);
    EXPECT_EQ(rtp->port % 2, 0);
    auto rtcp = *rtp;
    ++rtcp.port;
    EXPECT_EQ(sockets.open_count(), 2U);     // both bound...
    EXPECT_EQ(opened.started.size(), 1U);    // ...only the first relaying
    ASSERT_NE(sockets.find(rtcp), nullptr);  // the held one cannot be taken by anyone else
    EXPECT_TRUE(sockets.claim(rtcp));
    EXPECT_EQ(opened.started.size(), 2U);
    EXPECT_EQ(opened.started[1], rtcp);
    sockets.close(rtcp);
    EXPECT_FALSE(sockets.claim(rtcp));
}

TEST(RelaySockets, ExhaustedRangeGivesNothing) {
    asio::io_context io;
    Opened opened;
    auto sockets = make(io, opened, k_first, k_first + 1);
    std::set<stun::Address> got;
    for (int i = 0; i < 3; ++i)
        if (const auto a = sockets.open(RelayRequest{stun::Family::ipv4})) got.insert(*a);
    ASSERT_FALSE(got.empty());
    EXPECT_LE(got.size(), 2U);  // two ports at most (fewer if another process holds one)
    EXPECT_FALSE(sockets.open(RelayRequest{stun::Family::ipv4}));
    sockets.close(*got.begin());
    EXPECT_TRUE(sockets.open(RelayRequest{stun::Family::ipv4}));  // a closed port comes back
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
