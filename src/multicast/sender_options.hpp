#pragma once
// The options of a socket that sends to a multicast group: IP_MULTICAST_TTL / IPV6_MULTICAST_HOPS and, when
// the settings name one, the outgoing interface (IP_MULTICAST_IF / IPV6_MULTICAST_IF). Unicast datagrams
// from the same socket are not affected, so a socket may serve both.

#include <asio/ip/udp.hpp>
#include <system_error>

#include "multicast/allocator.hpp"

namespace sg::multicast {

std::error_code set_sender_options(asio::ip::udp::socket& socket, bool v6, const MulticastSettings& settings);

}  // namespace sg::multicast
