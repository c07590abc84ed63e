#pragma once
// Small coroutine helpers shared by the SOCKS session and its command handlers.

#include <array>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <vector>

#include "common/parse.hpp"
#include "net/use_tuple.hpp"
#include "socks/session_context.hpp"
#include "socks5/socks5.hpp"

namespace sg::socks {

using net::k_use_tuple;

// Reads until `parse` stops asking for more, bounded by `max_size`. Parsed bytes are removed from `buffer`;
// anything after them (a pipelining client) stays. A need_more result means the peer went away.
template <class ParsedT, class Parse>
asio::awaitable<ParsedT> read_message(asio::ip::tcp::socket& socket, std::vector<std::uint8_t>& buffer,
                                      Parse parse, std::size_t max_size) {
    std::array<std::uint8_t, 512> chunk;
    for (;;) {
        ParsedT result = parse(Bytes(buffer));
        if (result.done())
            buffer.erase(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(result.consumed));
        if (!result.need_more()) co_return result;
        if (buffer.size() >= max_size) {
            result.status = ParseStatus::error;
            result.error = "message too long";
            co_return result;
        }
        auto [ec, n] = co_await socket.async_read_some(asio::buffer(chunk), k_use_tuple);
        if (ec) co_return result;
        buffer.insert(buffer.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
    }
}

// Writes all of `bytes`; false when the peer is gone.
asio::awaitable<bool> send_all(asio::ip::tcp::socket& socket, const std::vector<std::uint8_t>& bytes);

// Sends a SOCKS reply and records it for the session log. `bound` by value: coroutine arguments must not
// refer to temporaries (g++ 12).
asio::awaitable<void> send_reply(asio::ip::tcp::socket& socket, SessionRecord& record, Reply reply,
                                 Address bound);

asio::awaitable<void> sleep_until(std::chrono::steady_clock::time_point deadline);

Address to_socks_address(const asio::ip::tcp::endpoint& endpoint);

}  // namespace sg::socks
