#pragma once
// One SOCKS5 client session, from greeting to the end of its relay.

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <map>
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
    metrics::Registry* registry = nullptr;  // optional; outlives the server
    // Touched only from the io_context's thread:
    std::set<LiveSession*> live;
    std::map<asio::ip::address, std::uint32_t> sessions_per_client;
    std::chrono::steady_clock::time_point last_limit_log{};
};

// Holds one of a client's session slots (for max_sessions_per_client) from accept to the end of the session.
class ClientSlot {
public:
    ClientSlot(std::shared_ptr<Server::Shared> shared, asio::ip::address client);
    ClientSlot(ClientSlot&& other) noexcept;
    ClientSlot& operator=(ClientSlot&&) = delete;
    ClientSlot(const ClientSlot&) = delete;
    ClientSlot& operator=(const ClientSlot&) = delete;
    ~ClientSlot();

private:
    std::shared_ptr<Server::Shared> shared_;
    asio::ip::address client_;
};

asio::awaitable<void> run_session(asio::ip::tcp::socket client, std::shared_ptr<Server::Shared> shared,
                                  ClientSlot slot);

}  // namespace sg::socks
