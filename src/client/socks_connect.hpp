#pragma once
// The client side of a SOCKS5 CONNECT (RFC 1928), with RFC 1929 username/password when credentials are
// given, on an already connected socket. The caller bounds it in time (by cancelling the socket).

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <cstdint>
#include <string>

namespace sg::client {

struct SocksCredentials {
    std::string user;  // empty: offer no-authentication only
    std::string password;
};

// Returns "" when the tunnel to host:port is open, else why not ("socks auth refused", "socks connection
// refused", ...). `host` is sent as an address when it is an IP literal, else as a domain name.
asio::awaitable<std::string> socks5_connect(asio::ip::tcp::socket& socket, std::string host,
                                            std::uint16_t port, SocksCredentials credentials);

}  // namespace sg::client
