#include "net/edge_reactor.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <vector>

#include "net/udp_batch.hpp"

namespace sg::net {
namespace {

// A bound, non-blocking UDP socket on 127.0.0.1 and a sender aimed at it.
struct UdpPair {
    UdpPair() {
        receiver = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        sender = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::socklen_t length = sizeof address;
        EXPECT_EQ(::bind(receiver, reinterpret_cast<const ::sockaddr*>(&address), sizeof address), 0);
        EXPECT_EQ(::getsockname(receiver, reinterpret_cast<::sockaddr*>(&address), &length), 0);
    }
    ~UdpPair() {
        ::close(receiver);
        ::close(sender);
    }
    void send(std::size_t count) const {
        for (std::size_t i = 0; i < count; ++i) {
            const std::uint32_t payload = static_cast<std::uint32_t>(i);
            ASSERT_EQ(::sendto(sender, &payload, sizeof payload, 0,
                               reinterpret_cast<const ::sockaddr*>(&address), sizeof address),
                      static_cast<::ssize_t>(sizeof payload));
        }
    }
    int receiver = -1;
    int sender = -1;
    ::sockaddr_in address{};
};

// Reads one batch per call, as the relay's media sockets do.
struct BatchReader final : EdgeReactor::Reader {
    BatchReader(int descriptor, std::size_t capacity) : fd(descriptor), batch(capacity, 64) {}
    bool on_readable() override {
        ++calls;
        const int got = batch.receive_now(fd);
        if (got > 0) received += static_cast<std::size_t>(got);
        return got > 0 && static_cast<std::size_t>(got) == batch.capacity();
    }
    int fd;
    UdpReceiveBatch batch;
    std::size_t calls = 0;
    std::size_t received = 0;
};

// Runs the loop until `done` or 10 s (a guard against hanging, not a speed check).
template <typename Done>
void run_until(asio::io_context& io, Done done) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done() && std::chrono::steady_clock::now() < give_up) {
        io.run_one_for(std::chrono::milliseconds(100));
        if (io.stopped()) io.restart();
    }
}

TEST(EdgeReactor, FullBatchesAreReadAgainWithoutANewEdge) {
    asio::io_context io;
    EdgeReactor reactor(io, Unhandled::relay_media);
    ASSERT_TRUE(reactor.valid());
    UdpPair udp;
    udp.send(3 * 4 + 1);  // queued before registration: the only edge is the one add() finds
    BatchReader reader(udp.receiver, 4);
    ASSERT_TRUE(reactor.add(udp.receiver, reader));
    run_until(io, [&] { return reader.received == 13; });
    EXPECT_EQ(reader.received, 13U);
    EXPECT_EQ(reader.calls, 4U);  // three full batches, then a short one that ends the turn
    reactor.remove(udp.receiver, reader);
}

TEST(EdgeReactor, AShortBatchDoesNotLoseTheNextDatagramsWakeup) {
    asio::io_context io;
    EdgeReactor reactor(io, Unhandled::relay_media);
    UdpPair udp;
    BatchReader reader(udp.receiver, 8);
    ASSERT_TRUE(reactor.add(udp.receiver, reader));
    for (std::size_t round = 1; round <= 5; ++round) {
        udp.send(1);
        run_until(io, [&] { return reader.received == round; });
        ASSERT_EQ(reader.received, round);
    }
    // Every wakeup was served by one short read: no trailing call that finds the queue empty.
    EXPECT_EQ(reader.calls, 5U);
    reactor.remove(udp.receiver, reader);
}

TEST(EdgeReactor, ServesEveryReadySocketInOneWakeup) {
    asio::io_context io;
    EdgeReactor reactor(io, Unhandled::relay_media);
    UdpPair a;
    UdpPair b;
    BatchReader reader_a(a.receiver, 8);
    BatchReader reader_b(b.receiver, 8);
    ASSERT_TRUE(reactor.add(a.receiver, reader_a));
    ASSERT_TRUE(reactor.add(b.receiver, reader_b));
    a.send(2);
    b.send(3);
    run_until(io, [&] { return reader_a.received == 2 && reader_b.received == 3; });
    EXPECT_EQ(reader_a.received, 2U);
    EXPECT_EQ(reader_b.received, 3U);
    reactor.remove(a.receiver, reader_a);
    reactor.remove(b.receiver, reader_b);
}

TEST(EdgeReactor, ARemovedReaderIsNotCalledAgainEvenWithAFullBatchPending) {
    asio::io_context io;
    EdgeReactor reactor(io, Unhandled::relay_media);
    UdpPair udp;
    udp.send(3);
    BatchReader reader(udp.receiver, 1);  // every read is a full batch
    ASSERT_TRUE(reactor.add(udp.receiver, reader));
    EXPECT_TRUE(reactor.serve_ready(1));  // one turn: read one, more may wait
    EXPECT_EQ(reader.calls, 1U);
    reactor.remove(udp.receiver, reader);
    EXPECT_FALSE(reactor.serve_ready(4));
    EXPECT_EQ(reader.calls, 1U);
}

TEST(EdgeReactor, TheLoopEndsWhenNothingIsWatched) {
    asio::io_context io;
    EdgeReactor reactor(io, Unhandled::relay_media);
    UdpPair udp;
    BatchReader reader(udp.receiver, 8);
    ASSERT_TRUE(reactor.add(udp.receiver, reader));
    io.poll();  // the loop is waiting now
    EXPECT_FALSE(io.stopped());
    reactor.remove(udp.receiver, reader);
    io.run_for(std::chrono::seconds(10));
    EXPECT_TRUE(io.stopped());  // ran out of work: a shard with no calls idles as before
    EXPECT_EQ(reactor.watched(), 0U);
}

TEST(EdgeReactor, AReaderAddedAfterTheLastWentIsServed) {
    asio::io_context io;
    EdgeReactor reactor(io, Unhandled::relay_media);
    UdpPair first;
    BatchReader reader_first(first.receiver, 8);
    ASSERT_TRUE(reactor.add(first.receiver, reader_first));
    io.poll();
    reactor.remove(first.receiver, reader_first);  // cancels the wait...
    UdpPair second;
    BatchReader reader_second(second.receiver, 8);
    ASSERT_TRUE(reactor.add(second.receiver, reader_second));  // ...and a new socket comes before it ends
    second.send(2);
    run_until(io, [&] { return reader_second.received == 2; });
    EXPECT_EQ(reader_second.received, 2U);
    reactor.remove(second.receiver, reader_second);
}

TEST(EdgeReactor, TheAfterTurnHookRunsOnceAfterEveryReadyReaderWasRead) {
    asio::io_context io;
    EdgeReactor reactor(io, Unhandled::turn_data);
    UdpPair a;
    UdpPair b;
    BatchReader reader_a(a.receiver, 8);
    BatchReader reader_b(b.receiver, 8);
    std::vector<std::size_t> seen;  // what both readers had received when the hook ran
    reactor.set_after_turn([&] { seen.push_back(reader_a.received + reader_b.received); });
    a.send(2);
    b.send(3);
    ASSERT_TRUE(reactor.add(a.receiver, reader_a));
    ASSERT_TRUE(reactor.add(b.receiver, reader_b));
    EXPECT_FALSE(reactor.serve_ready(4));  // both batches short: one turn
    ASSERT_EQ(seen.size(), 1U);
    EXPECT_EQ(seen[0], 5U);  // after both readers, not after each
    reactor.remove(a.receiver, reader_a);
    reactor.remove(b.receiver, reader_b);
}

}  // namespace
}  // namespace sg::net
