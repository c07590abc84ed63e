#pragma once
// Outbound connections for CONNECT: name resolution off the event loop, connect with a deadline, and the
// mapping from socket errors to SOCKS5 REP codes.

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <string>

#include "socks/socks5.hpp"

namespace sg::socks {

struct ConnectOutcome {
    Reply reply = Reply::general_failure;
    asio::ip::tcp::socket socket;
    std::string resolved;  // the address actually connected to (or last tried), for the session log
    std::string error;     // why it failed, for the session log
};

// Resolves `target` when it is a name (getaddrinfo runs on Asio's resolver thread, never on the event loop)
// and tries its addresses, IPv6 first, until one connects or `timeout` runs out.
asio::awaitable<ConnectOutcome> connect_to(const Address& target,
                                           std::chrono::steady_clock::duration timeout);

// RFC 1928 section 6 reply for a failed connect(2) or resolution.
Reply reply_for(const asio::error_code& ec) noexcept;

}  // namespace sg::socks
