#pragma once
// mssr::Socket tests on loopback: sockets bound to 127.0.0.1 port 0 with short timers, so a session starts,
// runs and ends within a test's second or two.

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <vector>

#include "mssr_io/socket.hpp"

namespace sg::mssr::test {

inline std::unique_ptr<Socket> make(asio::io_context& io, Role role,
                                    std::vector<StreamPolicy> streams = {StreamPolicy{}}, bool parity = true,
                                    std::uint8_t key_parity_group = 0, bool cauchy_parity = true,
                                    bool adaptive_parity = true) {
    using namespace std::chrono_literals;
    SocketOptions options;
    options.role = role;
    options.streams = std::move(streams);
    options.idle_timeout = 600ms;
    options.report_interval = 100ms;
    options.connect_timeout = 500ms;
    options.hello_interval = 50ms;
    options.parity = parity;
    options.key_parity_group = key_parity_group;
    options.cauchy_parity = cauchy_parity;
    options.adaptive_parity = adaptive_parity;
    auto socket = Socket::create(io.get_executor(),
                                 asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0), options);
    EXPECT_TRUE(socket.ok()) << socket.error();
    return socket ? std::move(*socket) : nullptr;
}

// The receiver's side of a session: waits for the sender, then runs until closed.
inline void spawn_listening(asio::io_context& io, Socket& receiver) {
    asio::co_spawn(
        io,
        [&receiver]() -> asio::awaitable<void> {
            if (!co_await receiver.listen()) co_await receiver.run();
        },
        asio::detached);
}

}  // namespace sg::mssr::test
