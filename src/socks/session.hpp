#pragma once
// One SOCKS5 client session, from greeting to the end of its relay.

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <memory>
#include <set>

#include "socks/server.hpp"

namespace sg::socks {

// Sockets of a running session, so that close_sessions() can end it from outside.
struct LiveSession {
    asio::ip::tcp::socket* client = nullptr;
    asio::ip::tcp::socket* target = nullptr;
};

struct Server::Shared {
    ServerOptions options;
    ServerStats stats;
    std::set<LiveSession*> live;  // touched only from the io_context's thread
};

asio::awaitable<void> run_session(asio::ip::tcp::socket client, std::shared_ptr<Server::Shared> shared);

}  // namespace sg::socks
