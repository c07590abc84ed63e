#include "socks/server.hpp"

#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/ip/v6_only.hpp>

#include "net/asio_endpoint.hpp"
#include "socks/session.hpp"

namespace sg::socks {

using asio::ip::tcp;

Server::Server(asio::io_context& io, ServerOptions options) : io_(io), shared_(std::make_shared<Shared>()) {
    shared_->options = std::move(options);
}

Server::~Server() {
    stop_accepting();
    close_sessions();
}

std::uint64_t Server::active_sessions() const noexcept {
    return shared_->stats.active.load();
}
const ServerStats& Server::stats() const noexcept {
    return shared_->stats;
}

sg::Result<tcp::endpoint> Server::listen(const tcp::endpoint& endpoint, std::string& error) {
    tcp::acceptor acceptor(io_);
    asio::error_code ec;
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    // An IPv6 listener serves IPv6 only, so "[::]:1080" and "0.0.0.0:1080" can be configured side by side.
    if (!ec && endpoint.address().is_v6()) acceptor.set_option(asio::ip::v6_only(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        error = ec.message();
        return sg::fail("cannot listen");
    }
    const auto bound = acceptor.local_endpoint();
    auto& acc = acceptors_.emplace_back(std::move(acceptor));
    auto& counters = accept_counters_.emplace_back();
    auto shared = shared_;
    asio::co_spawn(io_,
                   net::accept_loop(
                       acc,
                       [this, shared](tcp::socket socket) {
                           asio::co_spawn(
                               io_, run_session(std::move(socket), shared), [](const std::exception_ptr& e) {
                                   // Sessions handle their own errors; an escaping exception is a bug, but it
                                   // must end only that session, never the server.
                                   if (!e) return;
                                   try {
                                       std::rethrow_exception(e);
                                   } catch (const std::exception& ex) {
                                       spdlog::error("session aborted by exception: {}", ex.what());
                                   }
                               });
                       },
                       counters),
                   asio::detached);
    return bound;
}

void Server::stop_accepting() {
    for (auto& acceptor : acceptors_) {
        asio::error_code ignored;
        acceptor.close(ignored);
    }
}

void Server::close_sessions() {
    for (LiveSession* live : shared_->live) {
        asio::error_code ignored;
        if (live->client != nullptr) live->client->close(ignored);
        if (live->target != nullptr) live->target->close(ignored);
    }
}

}  // namespace sg::socks
