#pragma once
// `streamgate mssr send|recv --admin HOST:PORT`: Prometheus /metrics for the tool's one MSSR session. Every
// series is read from the session's Sender or Reassembler when it is scraped; the listener runs on the
// session's own event loop, so nothing on the per-packet path changes and nothing crosses threads.

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "metrics/admin_server.hpp"
#include "metrics/registry.hpp"
#include "mssr_io/socket.hpp"

namespace sg::mssr {

class SessionAdmin {
public:
    // Asked at every scrape; null before the session's socket exists.
    using SocketSource = std::function<const Socket*()>;

    // Binds the listener on `io`. `stream_names[i]` labels stream i's series (the streams a receiver
    // reports). nullptr, with `error`, when the listener cannot be bound.
    static std::unique_ptr<SessionAdmin> start(asio::io_context& io, const asio::ip::tcp::endpoint& endpoint,
                                               SocketSource socket,
                                               const std::vector<std::string>& stream_names,
                                               std::string& error);
    ~SessionAdmin();
    SessionAdmin(const SessionAdmin&) = delete;
    SessionAdmin& operator=(const SessionAdmin&) = delete;

    asio::ip::tcp::endpoint endpoint() const noexcept { return endpoint_; }
    // Closes the listener and its connections (on the loop's thread), so the loop can end.
    void stop();

private:
    SessionAdmin(asio::io_context& io, SocketSource socket);
    void register_series(const std::vector<std::string>& stream_names);

    SocketSource socket_;
    metrics::Registry registry_;
    metrics::AdminServer server_;
    asio::ip::tcp::endpoint endpoint_;
};

// What every `streamgate mssr` form does with `--admin`: starts `admin` when `endpoint` is set. False, with a
// message on stderr, when the listener cannot be bound.
bool start_session_admin(asio::io_context& io, const std::optional<asio::ip::tcp::endpoint>& endpoint,
                         SessionAdmin::SocketSource socket, const std::vector<std::string>& stream_names,
                         std::unique_ptr<SessionAdmin>& admin);

}  // namespace sg::mssr
