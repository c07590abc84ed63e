#pragma once
// relay::Address <-> Asio UDP endpoints. IPv4-mapped IPv6 sources are unmapped, so latching compares the
// address the peer really has.

#include <asio/ip/udp.hpp>

#include "relay/request.hpp"

namespace sg::relay_io {

relay::Address to_address(const asio::ip::udp::endpoint& endpoint);
asio::ip::udp::endpoint to_endpoint(const relay::Address& address);

}  // namespace sg::relay_io
