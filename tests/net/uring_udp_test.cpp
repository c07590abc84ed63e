#include "net/uring_udp.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace sg::net {
namespace {

int bound_udp_socket(::sockaddr_in& address) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    address = {};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::socklen_t length = sizeof address;
    EXPECT_EQ(::bind(fd, reinterpret_cast<const ::sockaddr*>(&address), sizeof address), 0);
    EXPECT_EQ(::getsockname(fd, reinterpret_cast<::sockaddr*>(&address), &length), 0);
    return fd;
}

void send_numbers(int from, const ::sockaddr_in& to, std::uint32_t first, std::uint32_t count) {
    for (std::uint32_t i = first; i < first + count; ++i)
        ASSERT_EQ(::sendto(from, &i, sizeof i, 0, reinterpret_cast<const ::sockaddr*>(&to), sizeof to),
                  static_cast<::ssize_t>(sizeof i));
}

// Reads what `fd` holds now: the numbers, in order.
std::vector<std::uint32_t> drain(int fd) {
    std::vector<std::uint32_t> out;
    std::uint32_t value = 0;
    while (::recv(fd, &value, sizeof value, MSG_DONTWAIT) == static_cast<::ssize_t>(sizeof value))
        out.push_back(value);
    return out;
}

// Runs the loop until `done` or ten seconds passed. One blocking run per handler, nothing else in the
// loop: a completion that does not wake the loop by itself fails the test instead of waiting for a timer.
template <typename Done>
void run_until(asio::io_context& io, Done done) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    io.restart();
    while (!done() && std::chrono::steady_clock::now() < until)
        io.run_one_until(until);
}

std::unique_ptr<UringUdp> make_uring(asio::io_context& io, UringUdp::Options options = {}) {
    std::string why;
    auto uring = UringUdp::create(io, Unhandled::relay_media, options, why);
    EXPECT_NE(uring, nullptr) << why;
    return uring;
}

// A relay of one hop: what arrives on `in` is forwarded out of `out` to the sink.
struct Hop {
    Hop() {
        in = bound_udp_socket(in_address);
        out = bound_udp_socket(out_address);
        sink = bound_udp_socket(sink_address);
        const int room = 1 << 20;  // a whole burst of small datagrams, queued before the loop runs
        for (const int fd : {in, sink})
            EXPECT_EQ(::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &room, sizeof room), 0);
        peer = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    }
    ~Hop() {
        for (const int fd : {in, out, sink, peer})
            if (fd >= 0) ::close(fd);
    }
    int in = -1, out = -1, sink = -1, peer = -1;
    ::sockaddr_in in_address{}, out_address{}, sink_address{};
};

TEST(UringUdp, ForwardsABurstWholeAndInOrderFromTheBufferItArrivedIn) {
    asio::io_context io;
    UringUdp::Options options;
    options.buffers = 64;  // 300 datagrams: every buffer is sent from and given back several times
    auto uring = make_uring(io, options);
    ASSERT_NE(uring, nullptr);
    Hop hop;
    std::size_t handled = 0;
    std::uint64_t tags = 0;
    const auto start = std::chrono::steady_clock::now();
    auto found_last = start;
    uring->set_handler([&](const UringDatagram& datagram) {
        ++handled;
        tags |= datagram.tag;
        // Stamped once per wakeup: never before the burst was sent, never going back.
        EXPECT_GE(datagram.found_at, found_last);
        found_last = datagram.found_at;
        EXPECT_EQ(datagram.payload.size(), 4U);
        EXPECT_FALSE(datagram.truncated);
        ASSERT_EQ(datagram.source->sa_family, AF_INET);
        uring->forward(2, reinterpret_cast<const ::sockaddr*>(&hop.sink_address), sizeof hop.sink_address);
    });
    ASSERT_TRUE(uring->add(hop.in, 7));
    ASSERT_TRUE(uring->add(hop.out, 2));
    send_numbers(hop.peer, hop.in_address, 0, 300);
    run_until(io, [&] { return uring->counters().sent == 300; });
    const auto got = drain(hop.sink);
    ASSERT_EQ(got.size(), 300U) << "received " << uring->counters().received << ", sent "
                                << uring->counters().sent << ", failed " << uring->counters().send_failures;
    for (std::uint32_t i = 0; i < 300; ++i)
        EXPECT_EQ(got[i], i);
    EXPECT_EQ(handled, 300U);
    EXPECT_LE(found_last, std::chrono::steady_clock::now());
    EXPECT_GE(found_last, start);
    EXPECT_EQ(tags, 7U);  // nothing came in on the sending socket
    EXPECT_EQ(uring->counters().received, 300U);
    EXPECT_EQ(uring->counters().sent, 300U);
    EXPECT_EQ(uring->counters().send_failures, 0U);
}

TEST(UringUdp, ReceivesAgainAfterRunningOutOfBuffers) {
    asio::io_context io;
    UringUdp::Options options;
    options.buffers = 8;  // a burst of 100 empties the ring many times over
    auto uring = make_uring(io, options);
    ASSERT_NE(uring, nullptr);
    Hop hop;
    std::vector<std::uint32_t> seen;
    uring->set_handler([&](const UringDatagram& datagram) {
        std::uint32_t value = 0;
        std::memcpy(&value, datagram.payload.data(), sizeof value);
        seen.push_back(value);
    });
    ASSERT_TRUE(uring->add(hop.in, 1));
    send_numbers(hop.peer, hop.in_address, 0, 100);
    run_until(io, [&] { return seen.size() >= 100; });
    ASSERT_EQ(seen.size(), 100U);
    for (std::uint32_t i = 0; i < 100; ++i)
        EXPECT_EQ(seen[i], i);
    EXPECT_GT(uring->counters().buffer_shortages, 0U);
}

TEST(UringUdp, LongerDatagramsThanABufferAreMarkedTruncated) {
    asio::io_context io;
    UringUdp::Options options;
    options.buffer_size = 512;
    auto uring = make_uring(io, options);
    ASSERT_NE(uring, nullptr);
    Hop hop;
    std::vector<bool> truncated;
    uring->set_handler([&](const UringDatagram& datagram) { truncated.push_back(datagram.truncated); });
    ASSERT_TRUE(uring->add(hop.in, 1));
    const std::vector<std::uint8_t> big(1000, 0xab);
    const std::vector<std::uint8_t> small(100, 0xcd);
    for (const auto* datagram : {&big, &small})
        ASSERT_GT(::sendto(hop.peer, datagram->data(), datagram->size(), 0,
                           reinterpret_cast<const ::sockaddr*>(&hop.in_address), sizeof hop.in_address),
                  0);
    run_until(io, [&] { return truncated.size() >= 2; });
    ASSERT_EQ(truncated.size(), 2U);
    EXPECT_TRUE(truncated[0]);
    EXPECT_FALSE(truncated[1]);
}

TEST(UringUdp, ARemovedSocketIsNotReadAndItsPortCanBeBoundAgain) {
    asio::io_context io;
    auto uring = make_uring(io);
    ASSERT_NE(uring, nullptr);
    Hop hop;
    std::size_t handled = 0;
    uring->set_handler([&](const UringDatagram&) { ++handled; });
    ASSERT_TRUE(uring->add(hop.in, 1));
    send_numbers(hop.peer, hop.in_address, 0, 5);
    run_until(io, [&] { return handled == 5; });
    ASSERT_EQ(handled, 5U);

    uring->remove(1);
    EXPECT_EQ(uring->watched(), 0U);
    ::close(hop.in);
    hop.in = -1;
    // The ring let go of the socket: its port is free at once.
    const int again = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    EXPECT_EQ(::bind(again, reinterpret_cast<const ::sockaddr*>(&hop.in_address), sizeof hop.in_address), 0)
        << std::strerror(errno);
    ::close(again);
    send_numbers(hop.peer, hop.in_address, 5, 1);  // to nobody now
    io.restart();
    io.run_for(std::chrono::milliseconds(20));
    EXPECT_EQ(handled, 5U);
}

TEST(UringUdp, ASendTheKernelRefusesIsCountedAndItsBufferComesBack) {
    asio::io_context io;
    UringUdp::Options options;
    options.buffers = 8;  // 20 refused sends: each must give its buffer back for the next receives
    auto uring = make_uring(io, options);
    ASSERT_NE(uring, nullptr);
    Hop hop;
    // A full socket buffer cannot be made reliably on loopback (it drains as it fills); a destination of
    // the wrong family is refused by the kernel just as surely, and counts the same way.
    ::sockaddr_in6 wrong{};
    wrong.sin6_family = AF_INET6;
    wrong.sin6_addr = in6addr_loopback;
    wrong.sin6_port = htons(9);
    uring->set_handler([&](const UringDatagram&) {
        uring->forward(2, reinterpret_cast<const ::sockaddr*>(&wrong), sizeof wrong);
    });
    ASSERT_TRUE(uring->add(hop.in, 1));
    ASSERT_TRUE(uring->add(hop.out, 2));
    send_numbers(hop.peer, hop.in_address, 0, 20);
    run_until(io, [&] { return uring->counters().send_failures == 20; });
    EXPECT_EQ(uring->counters().send_failures, 20U);
    EXPECT_EQ(uring->counters().sent, 0U);
}

}  // namespace
}  // namespace sg::net
