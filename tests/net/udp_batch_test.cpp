// recvmmsg/sendmmsg wrappers on loopback, with the batch calls and with the one-per-call fallback.
#include "net/udp_batch.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <cerrno>
#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "net/fork_join_pool.hpp"

namespace sg::net {
namespace {

using asio::ip::udp;
using namespace std::chrono_literals;

Bytes as_bytes(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string as_string(Bytes b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// Runs `coro` to completion on `io` (bounded in time) and returns its value.
template <class T>
std::optional<T> run(asio::io_context& io, asio::awaitable<T> coro,
                     std::chrono::milliseconds limit = 2000ms) {
    std::optional<T> out;
    asio::co_spawn(io, std::move(coro), [&](std::exception_ptr e, T value) {
        if (!e) out = std::move(value);
    });
    io.restart();
    io.run_for(limit);
    return out;
}

// Both modes: the batch system calls, and the fallback a kernel without them gets.
class UdpBatchTest : public ::testing::TestWithParam<bool> {
protected:
    void SetUp() override { set_batch_syscalls_enabled(GetParam()); }
    void TearDown() override { set_batch_syscalls_enabled(true); }

    udp::socket open_socket(const char* address = "127.0.0.1") {
        return udp::socket(io_, udp::endpoint(asio::ip::make_address(address), 0));
    }

    asio::io_context io_;
};

TEST_P(UdpBatchTest, ReceivesQueuedDatagramsWithTheirSources) {
    auto receiver = open_socket();
    auto a = open_socket();
    auto b = open_socket();
    const std::vector<std::string> payloads = {"one", "two", "", "four", std::string(1000, 'x')};
    for (std::size_t i = 0; i < payloads.size(); ++i) {
        (i % 2 == 0 ? a : b).send_to(asio::buffer(payloads[i]), receiver.local_endpoint());
    }
    UdpReceiveBatch batch(8, 2048);
    std::vector<std::string> got;
    std::vector<udp::endpoint> sources;
    while (got.size() < payloads.size()) {
        const auto ec = run(io_, receive_batch(receiver, batch));
        ASSERT_TRUE(ec.has_value());
        ASSERT_FALSE(*ec) << ec->message();
        ASSERT_GE(batch.size(), 1u);
        // One call takes everything queued with the batch call; one datagram per call without it.
        if (!GetParam()) {
            EXPECT_EQ(batch.size(), 1u);
        }
        for (std::size_t i = 0; i < batch.size(); ++i) {
            EXPECT_FALSE(batch.truncated(i));
            EXPECT_FALSE(batch.bad_source(i));
            got.push_back(as_string(batch.data(i)));
            sources.push_back(batch.source(i));
        }
    }
    EXPECT_EQ(got, payloads);
    for (std::size_t i = 0; i < sources.size(); ++i)
        EXPECT_EQ(sources[i], (i % 2 == 0 ? a : b).local_endpoint()) << i;
}

TEST(UdpBatch, OneCallTakesEverythingQueued) {
    asio::io_context io;
    set_batch_syscalls_enabled(true);
    udp::socket receiver(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    udp::socket sender(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    for (int i = 0; i < 5; ++i)
        sender.send_to(asio::buffer(std::to_string(i)), receiver.local_endpoint());
    UdpReceiveBatch batch(16, 64);
    const auto ec = run(io, receive_batch(receiver, batch));
    ASSERT_TRUE(ec.has_value());
    EXPECT_EQ(batch.size(), 5u);  // loopback delivers synchronously: all five are queued already
}

// A reader woken by one datagram takes the rest of the burst queued behind it, each with its source, up to
// k_receive_burst; the next call takes what is left; the handler can stop it early.
TEST(UdpBatch, TakeBurstHandsOverWhatIsQueuedUpToTheBurst) {
    asio::io_context io;
    udp::socket receiver(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    udp::socket sender(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    for (std::size_t i = 0; i < k_receive_burst + 3; ++i)
        sender.send_to(asio::buffer(std::to_string(i)), receiver.local_endpoint());
    std::vector<std::uint8_t> buffer(k_burst_buffer_size);
    const auto burst = [&](std::size_t stop_after) {
        udp::endpoint from;
        const std::size_t first =
            receiver.receive_from(asio::buffer(buffer.data(), k_max_udp_datagram), from);
        std::vector<std::string> got;
        std::vector<Bytes> views;
        take_burst(receiver, buffer, first, from, [&](Bytes data, const udp::endpoint& source) {
            EXPECT_EQ(source, sender.local_endpoint());
            got.push_back(as_string(data));
            views.push_back(data);
            return got.size() < stop_after;
        });
        // Every datagram of the burst is still where it was handed over.
        for (std::size_t i = 0; i < got.size(); ++i)
            EXPECT_EQ(as_string(views[i]), got[i]);
        return got;
    };
    const auto first = burst(k_receive_burst + 3);
    ASSERT_EQ(first.size(), k_receive_burst);  // loopback delivers synchronously: all are queued already
    EXPECT_EQ(first.front(), "0");
    EXPECT_EQ(first.back(), std::to_string(k_receive_burst - 1));
    EXPECT_EQ(burst(1), std::vector<std::string>{std::to_string(k_receive_burst)});  // stopped after one
    EXPECT_EQ(burst(10),
              (std::vector<std::string>{std::to_string(k_receive_burst + 1),
                                        std::to_string(k_receive_burst + 2)}));  // then none queued
}

TEST_P(UdpBatchTest, WaitsForADatagramThatArrivesLater) {
    auto receiver = open_socket();
    auto sender = open_socket();
    asio::steady_timer later(io_, 50ms);
    later.async_wait([&](const asio::error_code&) {
        sender.send_to(asio::buffer(std::string("late")), receiver.local_endpoint());
    });
    UdpReceiveBatch batch(4, 512);
    const auto ec = run(io_, receive_batch(receiver, batch));
    ASSERT_TRUE(ec.has_value());
    ASSERT_EQ(batch.size(), 1u);
    EXPECT_EQ(as_string(batch.data(0)), "late");
}

TEST_P(UdpBatchTest, FlagsADatagramLongerThanItsSlot) {
    auto receiver = open_socket();
    auto sender = open_socket();
    sender.send_to(asio::buffer(std::string(100, 'z')), receiver.local_endpoint());
    UdpReceiveBatch batch(2, 40);
    const auto ec = run(io_, receive_batch(receiver, batch));
    ASSERT_TRUE(ec.has_value());
    ASSERT_EQ(batch.size(), 1u);
    EXPECT_TRUE(batch.truncated(0));
    EXPECT_EQ(batch.data(0).size(), 40u);
}

TEST_P(UdpBatchTest, ReceiveEndsWithAnErrorWhenTheSocketIsClosed) {
    auto receiver = open_socket();
    asio::steady_timer later(io_, 30ms);
    later.async_wait([&](const asio::error_code&) { receiver.close(); });
    UdpReceiveBatch batch(4, 512);
    const auto ec = run(io_, receive_batch(receiver, batch));
    ASSERT_TRUE(ec.has_value());
    EXPECT_TRUE(*ec);
    EXPECT_EQ(batch.size(), 0u);
}

TEST_P(UdpBatchTest, SendsHeadAndBodyAsOneDatagramEach) {
    auto sender = open_socket();
    auto r1 = open_socket();
    auto r2 = open_socket();
    const std::string h1 = "HEAD1:", b1 = "body one", h2, b2 = "body two, no head", h3 = "only a head";
    UdpSendBatch out;
    out.add(r1.local_endpoint(), as_bytes(h1), as_bytes(b1));
    out.add(r2.local_endpoint(), as_bytes(h2), as_bytes(b2));
    out.add(r1.local_endpoint(), as_bytes(h3), Bytes{});
    const auto result = run(io_, send_batch(sender, out));
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(result->sent, 3u);
    EXPECT_EQ(result->failed, 0u);
    EXPECT_FALSE(result->error);
    EXPECT_EQ(result->body_bytes, b1.size() + b2.size());

    std::array<char, 256> buf;
    udp::endpoint from;
    std::size_t n = r1.receive_from(asio::buffer(buf), from);
    EXPECT_EQ(std::string(buf.data(), n), h1 + b1);
    EXPECT_EQ(from, sender.local_endpoint());
    n = r1.receive_from(asio::buffer(buf), from);
    EXPECT_EQ(std::string(buf.data(), n), h3);
    n = r2.receive_from(asio::buffer(buf), from);
    EXPECT_EQ(std::string(buf.data(), n), b2);
}

TEST_P(UdpBatchTest, ARefusedDatagramIsCountedAndTheRestStillGo) {
    auto sender = open_socket();
    auto receiver = open_socket();
    const std::string too_big(70000, 'b');  // larger than any IPv4 datagram: EMSGSIZE
    const std::string ok1 = "before", ok2 = "after";
    UdpSendBatch out;
    out.add(receiver.local_endpoint(), Bytes{}, as_bytes(ok1));
    out.add(receiver.local_endpoint(), Bytes{}, as_bytes(too_big));
    out.add(udp::endpoint(asio::ip::make_address("::1"), 9), Bytes{}, as_bytes(ok1));  // wrong family
    out.add(receiver.local_endpoint(), Bytes{}, as_bytes(ok2));
    const auto result = run(io_, send_batch(sender, out));
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(result->sent, 2u);
    EXPECT_EQ(result->failed, 2u);
    EXPECT_TRUE(result->last_failure);
    EXPECT_FALSE(result->error);
    // Each loss is charged to its own datagram.
    EXPECT_EQ((std::array{out.failed(0), out.failed(1), out.failed(2), out.failed(3)}),
              (std::array{false, true, true, false}));
    std::array<char, 64> buf;
    EXPECT_EQ(std::string(buf.data(), receiver.receive(asio::buffer(buf))), ok1);
    EXPECT_EQ(std::string(buf.data(), receiver.receive(asio::buffer(buf))), ok2);
}

TEST_P(UdpBatchTest, SendOnAClosedSocketReportsTheError) {
    auto sender = open_socket();
    const auto to = sender.local_endpoint();
    sender.close();
    const std::string payload = "x";
    UdpSendBatch out;
    out.add(to, Bytes{}, as_bytes(payload));
    const auto result = run(io_, send_batch(sender, out));
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(result->sent, 0u);
    EXPECT_TRUE(result->error);
}

TEST_P(UdpBatchTest, ManyDatagramsOverIpv6) {
    udp::socket receiver(io_);
    asio::error_code ec;
    receiver.open(udp::v6(), ec);
    if (!ec) receiver.bind(udp::endpoint(asio::ip::make_address("::1"), 0), ec);
    if (ec) GTEST_SKIP() << "no IPv6 loopback: " << ec.message();
    auto sender = open_socket("::1");
    std::vector<std::string> payloads;
    for (int i = 0; i < 40; ++i)
        payloads.push_back("datagram " + std::to_string(i));
    UdpSendBatch out;
    for (const auto& p : payloads)
        out.add(receiver.local_endpoint(), Bytes{}, as_bytes(p));
    const auto sent = run(io_, send_batch(sender, out));
    ASSERT_TRUE(sent.has_value());
    EXPECT_EQ(sent->sent, payloads.size());

    UdpReceiveBatch batch(16, 128);
    std::vector<std::string> got;
    while (got.size() < payloads.size()) {
        const auto rec = run(io_, receive_batch(receiver, batch));
        ASSERT_TRUE(rec.has_value());
        ASSERT_FALSE(*rec);
        EXPECT_LE(batch.size(), 16u);
        for (std::size_t i = 0; i < batch.size(); ++i) {
            got.push_back(as_string(batch.data(i)));
            EXPECT_EQ(batch.source(i), sender.local_endpoint());
        }
    }
    EXPECT_EQ(got, payloads);
}

TEST_P(UdpBatchTest, ReceiveNowTakesWhatIsQueuedAndNeverWaits) {
    auto receiver = open_socket();
    auto sender = open_socket();
    UdpReceiveBatch batch(8, 64);
    EXPECT_EQ(batch.receive_now(receiver.native_handle()), -EAGAIN);  // empty: answers at once
    EXPECT_EQ(batch.size(), 0u);
    for (int i = 0; i < 3; ++i)
        sender.send_to(asio::buffer(std::to_string(i)), receiver.local_endpoint());
    std::vector<std::string> got;
    while (got.size() < 3) {
        const int n = batch.receive_now(receiver.native_handle());
        ASSERT_GT(n, 0);
        EXPECT_EQ(static_cast<std::size_t>(n), batch.size());
        EXPECT_EQ(batch.size(), GetParam() ? 3u : 1u);  // all three in one call with recvmmsg
        for (std::size_t i = 0; i < batch.size(); ++i)
            got.push_back(as_string(batch.data(i)));
    }
    EXPECT_EQ(got, (std::vector<std::string>{"0", "1", "2"}));
    EXPECT_EQ(batch.receive_now(receiver.native_handle()), -EAGAIN);
}

TEST_P(UdpBatchTest, SendBatchNowSendsEveryDatagram) {
    auto sender = open_socket();
    auto r1 = open_socket();
    auto r2 = open_socket();
    const std::string b1 = "one", b2 = "two", b3 = "three";
    UdpSendBatch out;
    out.add(r1.local_endpoint(), Bytes{}, as_bytes(b1));
    out.add(r2.local_endpoint(), Bytes{}, as_bytes(b2));
    out.add(r1.local_endpoint(), Bytes{}, as_bytes(b3));
    const auto result = send_batch_now(sender.native_handle(), out);
    EXPECT_EQ(result.sent, 3u);
    EXPECT_EQ(result.failed, 0u);
    EXPECT_FALSE(result.error);
    std::array<char, 64> buf;
    udp::endpoint from;
    EXPECT_EQ(std::string(buf.data(), r1.receive_from(asio::buffer(buf), from)), b1);
    EXPECT_EQ(std::string(buf.data(), r1.receive_from(asio::buffer(buf), from)), b3);
    EXPECT_EQ(std::string(buf.data(), r2.receive_from(asio::buffer(buf), from)), b2);
}

TEST_P(UdpBatchTest, SendBatchNowCountsEverythingAsFailedOnAnUnusableSocket) {
    auto receiver = open_socket();
    const std::string body = "x";
    UdpSendBatch out;
    out.add(receiver.local_endpoint(), Bytes{}, as_bytes(body));
    out.add(receiver.local_endpoint(), Bytes{}, as_bytes(body));
    const auto result = send_batch_now(-1, out);  // EBADF
    EXPECT_EQ(result.sent, 0u);
    EXPECT_EQ(result.failed, 2u);
    EXPECT_TRUE(result.error);
    EXPECT_TRUE(out.failed(0));
    EXPECT_TRUE(out.failed(1));
}

// Everything queued on `receiver` now, in order.
std::vector<std::string> drain(udp::socket& receiver) {
    std::vector<std::string> got;
    std::array<char, 4096> buf;
    receiver.non_blocking(true);
    asio::error_code ec;
    for (;;) {
        const auto n = receiver.receive(asio::buffer(buf), 0, ec);
        if (ec) return got;
        got.emplace_back(buf.data(), n);
    }
}

TEST_P(UdpBatchTest, SendBatchNowWithAPoolSendsEveryDatagramOnceAndChargesEachLossToItsOwn) {
    ForkJoinPool pool(3);
    auto sender = open_socket();
    std::vector<udp::socket> receivers;
    for (int i = 0; i < 8; ++i)
        receivers.push_back(open_socket());
    // Enough datagrams for four runs, with two refused ones in different runs.
    constexpr std::size_t k_total = 4 * k_parallel_send_min;
    const std::set<std::size_t> refused{10, k_total - 5};
    std::vector<std::string> bodies;
    for (std::size_t i = 0; i < k_total; ++i)
        bodies.push_back(std::to_string(i));
    UdpSendBatch out;
    for (std::size_t i = 0; i < k_total; ++i) {
        const auto to = refused.contains(i) ? udp::endpoint(asio::ip::make_address("::1"), 9)  // wrong family
                                            : receivers[i % receivers.size()].local_endpoint();
        out.add(to, Bytes{}, as_bytes(bodies[i]));
    }
    const auto result = send_batch_now(sender.native_handle(), out, &pool);
    EXPECT_EQ(result.sent, k_total - refused.size());
    EXPECT_EQ(result.failed, refused.size());
    EXPECT_FALSE(result.error);
    for (std::size_t i = 0; i < k_total; ++i)
        ASSERT_EQ(out.failed(i), refused.contains(i)) << i;
    std::multiset<std::string> got;
    for (auto& receiver : receivers)
        for (auto& datagram : drain(receiver))
            got.insert(std::move(datagram));
    std::multiset<std::string> expected;
    for (std::size_t i = 0; i < k_total; ++i)
        if (!refused.contains(i)) expected.insert(bodies[i]);
    EXPECT_EQ(got, expected);
}

// A body of `size` octets that names its datagram, so a receiver can tell every one apart.
std::string numbered(std::size_t n, std::size_t size) {
    auto body = std::to_string(n) + ":";
    body.resize(size, static_cast<char>('a' + n % 26));
    return body;
}

// Segmentation: the kernel cuts one message into the same datagrams the receiver would have got one by one.
class UdpSegmentationTest : public UdpBatchTest {
protected:
    void TearDown() override {
        set_segmentation_enabled(true);
        UdpBatchTest::TearDown();
    }
};

TEST_P(UdpSegmentationTest, AReceiversRunOfEqualSizesLeavesAsOneMessageAndArrivesDatagramByDatagram) {
    auto sender = open_socket();
    auto a = open_socket();
    auto b = open_socket();
    const std::string head = "HEAD";
    // a: four of 100 octets and a shorter last one (a frame's packets); b: three of 60; then one more to a.
    std::vector<std::string> to_a, to_b;
    for (std::size_t i = 0; i < 4; ++i)
        to_a.push_back(numbered(i, 100 - head.size()));
    to_a.push_back(numbered(4, 40));
    for (std::size_t i = 0; i < 3; ++i)
        to_b.push_back(numbered(10 + i, 60 - head.size()));
    to_a.push_back(numbered(20, 100 - head.size()));
    UdpSendBatch out;
    out.set_segmentation(true);
    for (std::size_t i = 0; i < 5; ++i)
        out.add(a.local_endpoint(), as_bytes(head), as_bytes(to_a[i]));
    for (const auto& body : to_b)
        out.add(b.local_endpoint(), as_bytes(head), as_bytes(body));
    out.add(a.local_endpoint(), as_bytes(head), as_bytes(to_a[5]));
    const auto result = send_batch_now(sender.native_handle(), out);
    EXPECT_EQ(result.sent, 9u);
    EXPECT_EQ(result.failed, 0u);
    EXPECT_FALSE(result.error);
    EXPECT_EQ(out.messages(), 3u);  // a's run, b's run, a's last one
    std::vector<std::string> want_a, want_b;
    for (const auto& body : to_a)
        want_a.push_back(head + body);
    for (const auto& body : to_b)
        want_b.push_back(head + body);
    EXPECT_EQ(drain(a), want_a);
    EXPECT_EQ(drain(b), want_b);
}

TEST_P(UdpSegmentationTest, OnlyTheLastDatagramOfARunMayBeShorterAndNoneLonger) {
    auto sender = open_socket();
    auto a = open_socket();
    const std::vector<std::size_t> sizes{100, 120, 120, 50, 120, 30, 10};
    std::vector<std::string> bodies;
    UdpSendBatch out;
    out.set_segmentation(true);
    for (std::size_t i = 0; i < sizes.size(); ++i)
        bodies.push_back(numbered(i, sizes[i]));
    for (const auto& body : bodies)
        out.add(a.local_endpoint(), Bytes{}, as_bytes(body));
    const auto result = send_batch_now(sender.native_handle(), out);
    EXPECT_EQ(result.sent, sizes.size());
    // [100] (120 is longer), [120 120 50] (ends at the shorter one), [120 30], [10].
    EXPECT_EQ(out.messages(), 4u);
    EXPECT_EQ(drain(a), bodies);
}

TEST_P(UdpSegmentationTest, DatagramsAboveAnEthernetMtuOrWithSegmentationOffGoOneByOne) {
    auto sender = open_socket();
    auto a = open_socket();
    std::vector<std::string> bodies{numbered(0, 1600), numbered(1, 1600), numbered(2, 1600)};
    UdpSendBatch out;
    out.set_segmentation(true);
    for (const auto& body : bodies)
        out.add(a.local_endpoint(), Bytes{}, as_bytes(body));
    EXPECT_EQ(send_batch_now(sender.native_handle(), out).sent, 3u);
    EXPECT_EQ(out.messages(), 3u);
    EXPECT_EQ(drain(a), bodies);

    UdpSendBatch plain;  // off by default
    std::vector<std::string> small{numbered(0, 100), numbered(1, 100)};
    for (const auto& body : small)
        plain.add(a.local_endpoint(), Bytes{}, as_bytes(body));
    EXPECT_EQ(send_batch_now(sender.native_handle(), plain).sent, 2u);
    EXPECT_EQ(plain.messages(), 2u);
    EXPECT_EQ(drain(a), small);
}

// A run the kernel refuses whole goes datagram by datagram; the refusal concerns that run only. The kernel
// refuses to segment for a socket that does not checksum what it sends (SO_NO_CHECK), a refusal the loopback
// path can be made to give.
TEST_P(UdpSegmentationTest, ARunTheKernelRefusesGoesDatagramByDatagram) {
    auto sender = open_socket();
    auto a = open_socket();
    const int no_check = 1;
    ASSERT_EQ(::setsockopt(sender.native_handle(), SOL_SOCKET, SO_NO_CHECK, &no_check, sizeof(no_check)), 0);
    std::vector<std::string> bodies;
    UdpSendBatch out;
    out.set_segmentation(true);
    for (std::size_t i = 0; i < 6; ++i)
        bodies.push_back(numbered(i, 200));
    for (const auto& body : bodies)
        out.add(a.local_endpoint(), Bytes{}, as_bytes(body));
    const auto result = send_batch_now(sender.native_handle(), out);
    EXPECT_EQ(result.sent, 6u);
    EXPECT_EQ(result.failed, 0u);
    EXPECT_EQ(out.messages(), 1u);  // one run, refused, then sent one by one
    for (std::size_t i = 0; i < bodies.size(); ++i)
        EXPECT_FALSE(out.failed(i));
    EXPECT_EQ(drain(a), bodies);
    EXPECT_TRUE(segmentation_enabled());  // EINVAL: this run, not the kernel
}

TEST_P(UdpSegmentationTest, RunsSplitAmongAPoolsThreadsArriveWholeAndInOrder) {
    ForkJoinPool pool(2);
    auto sender = open_socket();
    std::vector<udp::socket> receivers;
    for (int i = 0; i < 100; ++i)
        receivers.push_back(open_socket());
    // Each receiver gets a run of three, as a frame's packets: 300 datagrams, 100 messages.
    std::vector<std::vector<std::string>> bodies(receivers.size());
    for (std::size_t r = 0; r < receivers.size(); ++r)
        for (std::size_t k = 0; k < 3; ++k)
            bodies[r].push_back(numbered(r * 3 + k, k < 2 ? 300 : 120));
    UdpSendBatch out;
    out.set_segmentation(true);
    for (std::size_t r = 0; r < receivers.size(); ++r)
        for (const auto& body : bodies[r])
            out.add(receivers[r].local_endpoint(), Bytes{}, as_bytes(body));
    const auto result = send_batch_now(sender.native_handle(), out, &pool);
    EXPECT_EQ(result.sent, 300u);
    EXPECT_EQ(result.failed, 0u);
    EXPECT_EQ(out.messages(), 100u);
    for (std::size_t r = 0; r < receivers.size(); ++r)
        EXPECT_EQ(drain(receivers[r]), bodies[r]) << r;
}

// A receiver that coalesces (UDP_GRO) takes a sender's segmented run in one read and cuts it apart with
// datagram(); the same run to a receiver that does not arrives datagram by datagram, as before.
TEST_P(UdpSegmentationTest, ACoalescingReceiverTakesARunInOneReadAndCutsItIntoItsDatagrams) {
    auto sender = open_socket();
    auto coalescing = open_socket();
    auto plain = open_socket();
    ASSERT_TRUE(enable_receive_coalescing(coalescing.native_handle()));
    std::vector<std::string> bodies;
    for (std::size_t i = 0; i < 6; ++i)
        bodies.push_back(numbered(i, 1200));
    bodies.push_back(numbered(6, 300));
    UdpSendBatch out;
    out.set_segmentation(true);
    for (udp::socket* to : {&coalescing, &plain})
        for (const auto& body : bodies)
            out.add(to->local_endpoint(), {}, as_bytes(body));
    const auto result = send_batch_now(sender.native_handle(), out);
    ASSERT_EQ(result.sent, 14u);
    EXPECT_EQ(out.messages(), 2u);

    UdpReceiveBatch in(8, 65536);
    ASSERT_EQ(in.receive_now(coalescing.native_handle()), 1);
    EXPECT_EQ(in.segment_size(0), 1200u);
    EXPECT_EQ(in.data(0).size(), 6 * 1200u + 300);
    ASSERT_EQ(in.datagrams(0), bodies.size());
    for (std::size_t k = 0; k < bodies.size(); ++k)
        EXPECT_EQ(as_string(in.datagram(0, k)), bodies[k]) << k;

    std::vector<std::string> plain_got;
    while (in.receive_now(plain.native_handle()) > 0) {
        for (std::size_t i = 0; i < in.size(); ++i) {
            EXPECT_EQ(in.segment_size(i), 0u);
            ASSERT_EQ(in.datagrams(i), 1u);
            plain_got.push_back(as_string(in.datagram(i, 0)));
        }
    }
    EXPECT_EQ(plain_got, bodies);
}

INSTANTIATE_TEST_SUITE_P(Modes, UdpSegmentationTest, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& param_info) {
                             return param_info.param ? std::string("mmsg") : std::string("fallback");
                         });

INSTANTIATE_TEST_SUITE_P(Modes, UdpBatchTest, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& param_info) {
                             return param_info.param ? std::string("mmsg") : std::string("fallback");
                         });

}  // namespace
}  // namespace sg::net
