// mssr::Socket on loopback: a listener and a connecting peer on one io_context, real UDP sockets on port 0.
#include "mssr_io/socket.hpp"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <optional>
#include <vector>

#include "loopback_sockets.hpp"
#include "rtp/rtp_packet.hpp"

namespace sg::mssr {
namespace {

using namespace std::chrono_literals;
using Endpoint = asio::ip::udp::endpoint;
using test::make;
using test::spawn_listening;

std::vector<std::uint8_t> frame_bytes(std::size_t size, std::uint8_t seed) {
    std::vector<std::uint8_t> data(size);
    for (std::size_t i = 0; i < size; ++i)
        data[i] = static_cast<std::uint8_t>(seed * 31 + i);
    return data;
}

TEST(MssrSocket, CarriesFramesFromConnectingSenderToListeningReceiver) {
    asio::io_context io;
    auto receiver = make(io, Role::receiver);
    auto sender = make(io, Role::sender,
                       {StreamPolicy{500ms, RetransmitMode::by_value, LatePolicy::drop},
                        StreamPolicy{200ms, RetransmitMode::key_only, LatePolicy::partial}});
    ASSERT_TRUE(receiver && sender);
    constexpr int k_frames = 40;
    std::vector<Delivery> delivered;
    receiver->on_delivery([&](Delivery d) {
        delivered.push_back(std::move(d));
        if (delivered.size() == k_frames) {
            receiver->close();
            sender->close();
        }
    });
    asio::error_code listen_ec = asio::error::would_block;
    asio::error_code connect_ec = asio::error::would_block;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            listen_ec = co_await receiver->listen();
            if (!listen_ec) co_await receiver->run();
        },
        asio::detached);
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            connect_ec = co_await sender->connect(receiver->local_endpoint());
            if (connect_ec) co_return;
            asio::co_spawn(io, sender->run(), asio::detached);
            asio::steady_timer pace(io);
            for (int i = 0; i < k_frames; ++i) {
                Adu adu;
                adu.stream = static_cast<std::uint8_t>(i % 2);
                adu.priority = i % 10 == 0 ? Priority::key : Priority::reference;
                adu.rtp_timestamp = static_cast<std::uint32_t>(i);
                adu.data = frame_bytes(i % 2 == 0 ? 5000 : 100, static_cast<std::uint8_t>(i));
                EXPECT_TRUE(sender->submit(std::move(adu)).ok());
                pace.expires_after(2ms);
                co_await pace.async_wait(asio::use_awaitable);
            }
        },
        asio::detached);
    io.run_for(5s);

    EXPECT_FALSE(listen_ec);
    EXPECT_FALSE(connect_ec);
    ASSERT_EQ(delivered.size(), static_cast<std::size_t>(k_frames));
    int per_stream[2] = {0, 0};
    for (const Delivery& d : delivered) {
        ASSERT_EQ(d.outcome, Delivery::Outcome::complete);
        const int index = static_cast<int>(d.rtp_timestamp);
        EXPECT_EQ(d.stream, index % 2);
        EXPECT_EQ(d.stream_sequence, per_stream[d.stream]++);  // in order per stream
        EXPECT_EQ(d.data, frame_bytes(index % 2 == 0 ? 5000 : 100, static_cast<std::uint8_t>(index)));
    }
    EXPECT_EQ(sender->sender()->stats().retransmissions, 0u);
    // The one HELLO's round trip seeded the sender's RTT (loopback: well below the 50 ms resend interval);
    // the listener, whose HELLO-ACK nothing answers, has no such sample.
    ASSERT_TRUE(sender->stats().handshake_rtt);
    EXPECT_LT(*sender->stats().handshake_rtt, std::chrono::microseconds(50ms));
    EXPECT_FALSE(receiver->stats().handshake_rtt);
}

TEST(MssrSocket, AListeningSenderServesAConnectingReceiver) {
    asio::io_context io;
    auto sender =
        make(io, Role::sender, {StreamPolicy{300ms, RetransmitMode::key_only, LatePolicy::partial}});
    auto receiver = make(io, Role::receiver);
    ASSERT_TRUE(receiver && sender);
    std::vector<Delivery> delivered;
    asio::steady_timer linger(io);
    receiver->on_delivery([&](Delivery d) {
        delivered.push_back(std::move(d));
        if (delivered.size() == 5) {
            // A little longer, so that the sender surely read what the receiver sent before the data.
            linger.expires_after(100ms);
            linger.async_wait([&](const asio::error_code&) {
                receiver->close();
                sender->close();
            });
        }
    });
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            if (co_await sender->listen()) co_return;
            asio::co_spawn(io, sender->run(), asio::detached);
            for (int i = 0; i < 5; ++i) {
                Adu adu;
                adu.data = frame_bytes(2000, static_cast<std::uint8_t>(i));
                EXPECT_TRUE(sender->submit(std::move(adu)).ok());
            }
        },
        asio::detached);
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            if (!co_await receiver->connect(sender->local_endpoint())) co_await receiver->run();
        },
        asio::detached);
    io.run_for(5s);
    ASSERT_EQ(delivered.size(), 5u);
    for (std::size_t i = 0; i < delivered.size(); ++i)
        EXPECT_EQ(delivered[i].data, frame_bytes(2000, static_cast<std::uint8_t>(i)));
    // The receiver timed its HELLO, and its HELLO-CONFIRM timed the listening sender's HELLO-ACK: the
    // sender's first RTT sample, before any ack.
    ASSERT_TRUE(receiver->stats().handshake_rtt);
    ASSERT_TRUE(sender->stats().handshake_rtt);
    EXPECT_LT(*sender->stats().handshake_rtt, std::chrono::microseconds(50ms));
    EXPECT_TRUE(sender->sender()->rtt().has_sample());
    // The five key ADUs were submitted right after listen(), before HELLO-CONFIRM could arrive: without a
    // round trip to judge by, their 300 ms budget is under the initial RTO, so each got its parity.
    EXPECT_EQ(sender->sender()->stats().parity_adus, 5u);
}

// A forwarder between the two ends that drops every `drop_every`-th data packet from the sender.
asio::awaitable<void> impair(asio::ip::udp::socket& relay, Endpoint receiver, int drop_every, int& dropped) {
    std::vector<std::uint8_t> buffer(65536);
    std::optional<Endpoint> sender;
    int data_packets = 0;
    for (;;) {
        Endpoint from;
        auto [ec, n] = co_await relay.async_receive_from(asio::buffer(buffer), from,
                                                         asio::experimental::as_tuple(asio::use_awaitable));
        if (ec) co_return;
        const Bytes datagram(buffer.data(), n);
        Endpoint to = receiver;
        if (from == receiver) {
            if (!sender) continue;
            to = *sender;
        } else {
            sender = from;
            if (!rtp::looks_like_rtcp(datagram) && ++data_packets % drop_every == 0) {
                ++dropped;
                continue;
            }
        }
        co_await relay.async_send_to(asio::buffer(datagram.data(), datagram.size()), to,
                                     asio::experimental::as_tuple(asio::use_awaitable));
    }
}

TEST(MssrSocket, RepairsLossOnARealUdpPath) {
    asio::io_context io;
    auto receiver = make(io, Role::receiver);
    auto sender = make(io, Role::sender, {StreamPolicy{1000ms, RetransmitMode::by_value, LatePolicy::drop}});
    ASSERT_TRUE(receiver && sender);
    asio::ip::udp::socket relay(io, Endpoint(asio::ip::make_address("127.0.0.1"), 0));
    int dropped = 0;
    constexpr int k_frames = 20;
    std::vector<Delivery> delivered;
    receiver->on_delivery([&](Delivery d) {
        delivered.push_back(std::move(d));
        if (delivered.size() == k_frames) {
            receiver->close();
            sender->close();
            relay.close();
        }
    });
    asio::co_spawn(io, impair(relay, receiver->local_endpoint(), 10, dropped), asio::detached);
    spawn_listening(io, *receiver);
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            if (co_await sender->connect(relay.local_endpoint())) co_return;
            asio::co_spawn(io, sender->run(), asio::detached);
            for (int i = 0; i < k_frames; ++i) {
                Adu adu;
                adu.rtp_timestamp = static_cast<std::uint32_t>(i);
                adu.data = frame_bytes(3000, static_cast<std::uint8_t>(i));
                EXPECT_TRUE(sender->submit(std::move(adu)).ok());
            }
        },
        asio::detached);
    io.run_for(10s);

    ASSERT_EQ(delivered.size(), static_cast<std::size_t>(k_frames));
    for (const Delivery& d : delivered) {
        EXPECT_EQ(d.outcome, Delivery::Outcome::complete);
        EXPECT_EQ(d.data, frame_bytes(3000, static_cast<std::uint8_t>(d.rtp_timestamp)));
    }
    EXPECT_GT(dropped, 0);
    EXPECT_GE(sender->sender()->stats().retransmissions, static_cast<std::uint64_t>(dropped));
}

void run_parity_session(bool parity, std::uint8_t group, bool cauchy = true, bool adaptive = true) {
    SCOPED_TRACE(::testing::Message() << "parity " << parity << ", key parity group " << int{group}
                                      << ", cauchy " << cauchy << ", adaptive " << adaptive);
    asio::io_context io;
    auto receiver = make(io, Role::receiver);
    auto sender = make(io, Role::sender, {StreamPolicy{5ms, RetransmitMode::by_value, LatePolicy::partial}},
                       parity, group, cauchy, adaptive);
    ASSERT_TRUE(receiver && sender);
    int delivered = 0;
    receiver->on_delivery([&](const Delivery&) {
        if (++delivered == 5) {
            receiver->close();
            sender->close();
        }
    });
    spawn_listening(io, *receiver);
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            if (co_await sender->connect(receiver->local_endpoint())) co_return;
            asio::co_spawn(io, sender->run(), asio::detached);
            asio::steady_timer pace(io);
            for (int i = 0; i < 5; ++i) {
                pace.expires_after(10ms);  // the sender's loop runs in between
                co_await pace.async_wait(asio::use_awaitable);
                Adu adu;
                adu.data = frame_bytes(3000, static_cast<std::uint8_t>(i));
                EXPECT_TRUE(sender->submit(std::move(adu)).ok());
            }
        },
        asio::detached);
    io.run_for(3s);
    // Decided when each ADU is submitted (the handshake gave the RTT): exact whatever the machine's load.
    EXPECT_GT(delivered, 0) << parity;
    ASSERT_NE(sender->sender(), nullptr);
    const SenderStats& stats = sender->sender()->stats();
    EXPECT_EQ(stats.parity_adus, parity ? 5u : 0u);
    // What a 5 ms budget let through; the test ends at the fifth delivery, before its parity fragment.
    const std::uint64_t arrived = receiver->receiver()->stats().parity_fragments;
    EXPECT_LE(arrived, stats.parity_fragments);
    if (parity) {
        EXPECT_GT(arrived, 0u);
        // The handshake settled the group, so every ADU was planned with 3 parity fragments (6 fragments in
        // groups of 2), or one. How many of them left before a 5 ms deadline is the machine's load: under
        // CI's, one ADU's last parity fragment once expired unsent.
        EXPECT_EQ(sender->sender()->config().key_parity_group, group);
        EXPECT_LE(stats.parity_fragments, (group == 0 ? 1u : 3u) * 5);
    } else {
        EXPECT_EQ(arrived, 0u);
    }
    // The receiver took the group from the sender's hello: the extra parity fragments are fragments of their
    // ADUs to it, not misshapen ones.
    EXPECT_EQ(receiver->receiver()->stats().invalid, 0u);
    // Both ends read the code from the hellos, and agree: the sender's option decides, since this receiver
    // takes either.
    EXPECT_EQ(sender->sender()->config().cauchy_parity, cauchy);
    EXPECT_EQ(receiver->receiver()->config().cauchy_parity, cauchy);
    // And the header version the same way: with the count on the wire (version 3), both ends cut fragments
    // one octet shorter, so a disagreement would leave every packet invalid above. (Five ADUs are too few
    // fates for a loss estimate: the counts are still the groups rule's.)
    const std::uint8_t version = adaptive ? k_version_parity_count : k_version;
    EXPECT_EQ(sender->sender()->config().header_version, version);
    EXPECT_EQ(receiver->receiver()->config().header_version, version);
}

// The receiver's hello announces parity; a sender then protects every ADU whose budget no repair fits (here
// 5 ms: loopback's round trip plus the 5 ms reorder allowance is more) with a parity fragment, and without
// the option it sends only the first fragment's copy. (These are key ADUs: they get the copy either way.)
// With a key parity group of 2 in the sender's hello, each 6-fragment ADU gets 3 parity fragments, and the
// receiver (which announces groups) takes them, in the Cauchy code or, when the sender is told so, in XOR
// groups.
TEST(MssrSocket, AReceiverThatTakesParityGetsItWhereNoRepairFits) {
    for (const std::uint8_t group : {0, 2}) {
        for (const bool parity : {true, false}) {
            run_parity_session(parity, group);
            if (::testing::Test::HasFatalFailure()) return;
        }
    }
    run_parity_session(true, 2, false);
    run_parity_session(true, 2, true, false);
}

TEST(MssrSocket, SenderReportsKeepAnIdleSessionAlive) {
    asio::io_context io;
    auto receiver = make(io, Role::receiver);
    auto sender = make(io, Role::sender);
    ASSERT_TRUE(receiver && sender);
    // The receiver would give up after 600 ms of silence; the sender has nothing to send for 1.5 s but
    // reports every 100 ms.
    asio::error_code receiver_end = asio::error::would_block;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            if (!co_await receiver->listen()) receiver_end = co_await receiver->run();
        },
        asio::detached);
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            if (co_await sender->connect(receiver->local_endpoint())) co_return;
            asio::co_spawn(io, sender->run(), asio::detached);
            asio::steady_timer idle(io, 1500ms);
            co_await idle.async_wait(asio::use_awaitable);
            receiver->close();
            sender->close();
        },
        asio::detached);
    io.run_for(5s);
    EXPECT_EQ(receiver_end, asio::error::operation_aborted) << "closed by the test, not timed out";
    EXPECT_EQ(receiver->stats().unusable, 0u);
}

TEST(MssrSocket, ConnectTimesOutWithoutAListener) {
    asio::io_context io;
    auto sender = make(io, Role::sender);
    auto silent = make(io, Role::sender);  // bound but never listening: HELLOs go unanswered
    ASSERT_TRUE(sender && silent);
    asio::error_code ec;
    asio::co_spawn(
        io, [&]() -> asio::awaitable<void> { ec = co_await sender->connect(silent->local_endpoint()); },
        asio::detached);
    io.run_for(3s);
    EXPECT_EQ(ec, asio::error::timed_out);
    EXPECT_FALSE(sender->connected());
}

TEST(MssrSocket, ListenerIgnoresAPeerOfTheSameRole) {
    asio::io_context io;
    auto listener = make(io, Role::sender);
    auto other = make(io, Role::sender);
    ASSERT_TRUE(listener && other);
    asio::error_code ec;
    asio::co_spawn(
        io, [&]() -> asio::awaitable<void> { (void)co_await listener->listen(); }, asio::detached);
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            ec = co_await other->connect(listener->local_endpoint());
            listener->close();
        },
        asio::detached);
    io.run_for(3s);
    EXPECT_EQ(ec, asio::error::timed_out);
    EXPECT_FALSE(listener->connected());
    EXPECT_GT(listener->stats().unusable, 0u);
}

}  // namespace
}  // namespace sg::mssr
