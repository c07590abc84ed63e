#pragma once
// Conversions between our address types and Asio's.

#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>

#include "common/result.hpp"
#include "net/endpoint.hpp"

namespace sg::net {

// Listeners bind to literal addresses only: a name could resolve differently at each start, and resolving it
// here would hide which interface an operator actually exposed.
sg::Result<asio::ip::tcp::endpoint> to_tcp_endpoint(const HostPort& hp);

HostPort to_host_port(const asio::ip::tcp::endpoint& ep);

// `192.0.2.1:80` / `[2001:db8::1]:80`, IPv4-mapped IPv6 addresses shown as IPv4.
std::string to_string(const asio::ip::tcp::endpoint& ep);
std::string to_string(const asio::ip::udp::endpoint& ep);

// Strips the ::ffff:0:0/96 mapping so ACLs and logs see the client's real family.
asio::ip::address unmap(const asio::ip::address& addr);

}  // namespace sg::net
