// RTP/RTCP port pairs: even/odd, within the range, never handed out twice while bound, reusable once closed.
#include "server/udp_ports.hpp"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <set>
#include <vector>

namespace sg::server {
namespace {

TEST(UdpPortAllocator, HandsOutDistinctEvenPairsUntilTheRangeIsFull) {
    asio::io_context io;
    // A range of its own in the ephemeral-free zone; other processes may hold some ports, which the
    // allocator must skip, so we only require what it returns to be valid and distinct.
    UdpPortAllocator ports(47001, 47020);  // rounds up to 47002: pairs 47002..47019
    const auto loopback = asio::ip::make_address("127.0.0.1");
    std::vector<std::unique_ptr<UdpPair>> held;
    std::set<std::uint16_t> seen;
    while (auto pair = ports.allocate(io.get_executor(), loopback)) {
        const auto rtp = pair->rtp.local_endpoint().port();
        EXPECT_EQ(rtp % 2, 0);
        EXPECT_GE(rtp, 47002);
        EXPECT_LE(rtp + 1, 47020);
        EXPECT_EQ(pair->rtcp.local_endpoint().port(), rtp + 1);
        EXPECT_TRUE(seen.insert(rtp).second) << "port " << rtp << " handed out twice";
        held.push_back(std::move(pair));
        ASSERT_LE(held.size(), 9U);
    }
    EXPECT_FALSE(held.empty());
    // Closing one pair makes its ports available again.
    const auto freed = held.back()->rtp.local_endpoint().port();
    held.pop_back();
    auto again = ports.allocate(io.get_executor(), loopback);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->rtp.local_endpoint().port(), freed);
}

TEST(UdpPortAllocator, EmptyRangeGivesNothing) {
    asio::io_context io;
    UdpPortAllocator ports(47031, 47031);
    EXPECT_FALSE(ports.allocate(io.get_executor(), asio::ip::make_address("127.0.0.1")));
}

}  // namespace
}  // namespace sg::server
