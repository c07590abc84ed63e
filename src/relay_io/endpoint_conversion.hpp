#pragma once
// relay::Address <-> Asio UDP endpoints. IPv4-mapped IPv6 sources are unmapped, so latching compares the
// address the peer really has.

#include <sys/socket.h>

#include <asio/ip/udp.hpp>
#include <optional>

#include "relay/request.hpp"

namespace sg::relay_io {

relay::Address to_address(const asio::ip::udp::endpoint& endpoint);
asio::ip::udp::endpoint to_endpoint(const relay::Address& address);
// A source address as the kernel gives it; nullopt when it is neither IPv4 nor IPv6 or too short. Asio could
// throw only for a length the endpoint cannot hold, which is checked first.
// NOLINTNEXTLINE(bugprone-exception-escape)
std::optional<relay::Address> to_address(const ::sockaddr* address, ::socklen_t length) noexcept;

}  // namespace sg::relay_io
