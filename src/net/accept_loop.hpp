#pragma once
// The accept loop every TCP listener runs.

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <atomic>
#include <cstdint>
#include <functional>

namespace sg::net {

struct AcceptCounters {
    std::atomic<std::uint64_t> accepted{0};
    std::atomic<std::uint64_t> resource_errors{0};  // EMFILE, ENFILE, ENOBUFS, ENOMEM
};

// A listening acceptor on `endpoint`: address reuse on, and an IPv6 listener serves IPv6 only, so "[::]:P"
// and "0.0.0.0:P" can be configured side by side. On failure `ec` says why and the acceptor is not open.
asio::ip::tcp::acceptor open_listener(asio::io_context& io, const asio::ip::tcp::endpoint& endpoint,
                                      asio::error_code& ec);

// Hands an accepted socket to another event loop (io_context): the descriptor leaves this loop's reactor
// and joins `loop`'s, so the socket's operations then complete on `loop`. A no-op when it already belongs
// there. On failure `ec` is set and the connection is closed. Servers that accept on one loop and run
// connections on others (serve, the SOCKS gateway) use it; call it on the socket's current loop.
asio::ip::tcp::socket move_to_loop(asio::ip::tcp::socket socket, asio::io_context& loop,
                                   asio::error_code& ec);

using AcceptHandler = std::function<void(asio::ip::tcp::socket)>;

// Accepts until the acceptor is closed or the coroutine is cancelled, passing each socket to `on_accept`
// (which spawns the session). When descriptors or kernel memory run out, accept() fails at once while the
// pending connection stays queued, so a naive loop would spin at 100% CPU: we back off instead (10 ms
// doubling to 1 s) and resume at full speed as soon as an accept succeeds.
asio::awaitable<void> accept_loop(asio::ip::tcp::acceptor& acceptor, AcceptHandler on_accept,
                                  AcceptCounters& counters);

}  // namespace sg::net
