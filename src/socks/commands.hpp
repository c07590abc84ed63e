#pragma once
// The SOCKS5 commands (RFC 1928 section 4), each run after a successful handshake. A handler answers the
// request itself (success or failure REP) and fills the session record; it returns when the session is over.

#include <asio/awaitable.hpp>

#include "socks/session_context.hpp"

namespace sg::socks {

asio::awaitable<void> run_connect(SessionContext& ctx, const Request& request);
asio::awaitable<void> run_bind(SessionContext& ctx, const Request& request);
asio::awaitable<void> run_udp_associate(SessionContext& ctx, const Request& request);

}  // namespace sg::socks
