#pragma once
// Bidirectional TCP relay between two connected sockets.

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <string_view>

namespace sg::net {

struct RelayResult {
    std::uint64_t bytes_a_to_b = 0;
    std::uint64_t bytes_b_to_a = 0;
    std::string_view end_reason;  // static text: "a closed", "b closed", "idle timeout", "a error: ..."
};

// Copies both ways until either side closes or errors, or nothing moves for `idle_timeout`. Each direction
// awaits its write before the next read, so a slow reader throttles its sender instead of growing memory:
// at most one buffer per direction is in flight. A half-close (EOF) on one side is passed on with shutdown()
// and the other direction keeps running, as TCP allows.
asio::awaitable<RelayResult> relay(asio::ip::tcp::socket& a, asio::ip::tcp::socket& b,
                                   std::chrono::steady_clock::duration idle_timeout);

}  // namespace sg::net
