// RTP/RTCP port pairs: even/odd, within the range, never handed out twice while bound, reusable once closed.
#include "server/udp_ports.hpp"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <barrier>
#include <set>
#include <thread>
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

// Every event loop of serve allocates from one allocator at the same time: no pair may be handed out twice.
TEST(UdpPortAllocator, ThreadsAllocatingAtOnceGetDistinctPairs) {
    UdpPortAllocator ports(47101, 47300);  // 100 pairs
    const auto loopback = asio::ip::make_address("127.0.0.1");
    constexpr int k_threads = 4;
    std::vector<std::vector<std::uint16_t>> seen(k_threads);
    // Nobody closes a pair before everyone has allocated: a closed pair may rightly be handed out again.
    std::barrier all_allocated(k_threads);
    std::vector<std::thread> threads;
    for (int t = 0; t < k_threads; ++t) {
        threads.emplace_back([&, t] {
            asio::io_context io;  // each thread its own loop, as in serve
            std::vector<std::unique_ptr<UdpPair>> held;
            for (int i = 0; i < 20; ++i) {
                if (auto pair = ports.allocate(io.get_executor(), loopback)) held.push_back(std::move(pair));
            }
            for (const auto& pair : held)
                seen[static_cast<std::size_t>(t)].push_back(pair->rtp.local_endpoint().port());
            all_allocated.arrive_and_wait();
        });
    }
    for (auto& thread : threads)
        thread.join();
    std::set<std::uint16_t> all;
    std::size_t total = 0;
    for (const auto& ports_of_thread : seen) {
        total += ports_of_thread.size();
        all.insert(ports_of_thread.begin(), ports_of_thread.end());
    }
    EXPECT_GE(total, 60U);  // other processes may hold a few of these ports, not most
    EXPECT_EQ(all.size(), total) << "a pair was handed out twice";
}

}  // namespace
}  // namespace sg::server
