// SessionAdmin: a sender and a receiver on loopback, each with its /metrics listener on the same event loop;
// the series are scraped over TCP while the session runs and must show what the session did.
#include "mssr_io/session_admin.hpp"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <string>

#include "loopback_sockets.hpp"

namespace sg::mssr {
namespace {

using namespace std::chrono_literals;
using tcp = asio::ip::tcp;
using test::make;
using test::spawn_listening;
constexpr auto as_tuple_awaitable = asio::experimental::as_tuple(asio::use_awaitable);

const tcp::endpoint k_any_loopback(asio::ip::make_address("127.0.0.1"), 0);

asio::awaitable<std::string> scrape(tcp::endpoint admin) {
    tcp::socket s(co_await asio::this_coro::executor);
    auto [ec] = co_await s.async_connect(admin, as_tuple_awaitable);
    if (ec) co_return "connect: " + ec.message();
    const std::string request = "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n";
    std::tie(ec, std::ignore) = co_await asio::async_write(s, asio::buffer(request), as_tuple_awaitable);
    std::string out;
    std::array<char, 4096> chunk;
    for (;;) {
        auto [read_ec, n] = co_await s.async_read_some(asio::buffer(chunk), as_tuple_awaitable);
        out.append(chunk.data(), n);
        if (read_ec) break;
    }
    co_return out;
}

TEST(MssrSessionAdmin, ServesTheSessionsFiguresWhileItRuns) {
    asio::io_context io;
    auto receiver = make(io, Role::receiver);
    auto sender = make(io, Role::sender);
    ASSERT_TRUE(receiver && sender);
    std::string error;
    auto receiver_admin = SessionAdmin::start(
        io, k_any_loopback, [&] { return static_cast<const Socket*>(receiver.get()); }, {"video", "other"},
        error);
    ASSERT_TRUE(receiver_admin) << error;
    auto sender_admin = SessionAdmin::start(
        io, k_any_loopback, [&] { return static_cast<const Socket*>(sender.get()); }, {"video", "other"},
        error);
    ASSERT_TRUE(sender_admin) << error;
    // A second listener on a taken port fails with a reason, as any listener does.
    EXPECT_EQ(SessionAdmin::start(
                  io, receiver_admin->endpoint(), [] { return nullptr; }, {}, error),
              nullptr);
    EXPECT_FALSE(error.empty());

    constexpr int k_frames = 10;
    int delivered = 0;
    receiver->on_delivery([&](const Delivery&) { ++delivered; });
    std::string receiver_text;
    std::string sender_text;
    spawn_listening(io, *receiver);
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            if (co_await sender->connect(receiver->local_endpoint())) co_return;
            asio::co_spawn(io, sender->run(), asio::detached);
            for (int i = 0; i < k_frames; ++i) {
                Adu adu;
                adu.data.assign(1500, static_cast<std::uint8_t>(i));
                EXPECT_TRUE(sender->submit(std::move(adu)));
            }
            asio::steady_timer wait(io);
            for (int i = 0; i < 200 && delivered < k_frames; ++i) {
                wait.expires_after(10ms);
                co_await wait.async_wait(as_tuple_awaitable);
            }
            receiver_text = co_await scrape(receiver_admin->endpoint());
            sender_text = co_await scrape(sender_admin->endpoint());
            sender->close();
            receiver->close();
            receiver_admin->stop();
            sender_admin->stop();
        },
        asio::detached);
    io.run_for(5s);

    EXPECT_EQ(delivered, k_frames);
    EXPECT_NE(receiver_text.find("HTTP/1.1 200 OK"), std::string::npos) << receiver_text;
    EXPECT_NE(
        receiver_text.find("streamgate_mssr_receiver_adus_total{stream=\"video\",outcome=\"complete\"} 10\n"),
        std::string::npos)
        << receiver_text;
    EXPECT_NE(receiver_text.find("streamgate_mssr_receiver_reorder_window_seconds 0.005\n"),
              std::string::npos)
        << receiver_text;
    // The other side's series read 0 rather than failing.
    EXPECT_NE(receiver_text.find("streamgate_mssr_sender_adus_total 0\n"), std::string::npos)
        << receiver_text;
    EXPECT_NE(sender_text.find("streamgate_mssr_sender_adus_total 10\n"), std::string::npos) << sender_text;
    EXPECT_NE(sender_text.find("streamgate_mssr_datagrams_total{direction=\"out\"}"), std::string::npos)
        << sender_text;
    EXPECT_EQ(sender_text.find("streamgate_mssr_sender_fragments_total 0\n"), std::string::npos)
        << sender_text;
}

}  // namespace
}  // namespace sg::mssr
