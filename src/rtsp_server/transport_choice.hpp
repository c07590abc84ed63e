#pragma once
// The transport a SETUP of `streamgate serve` or of a gateway mount gets, and the multicast answer it sends
// (RFC 2326 §12.39, RFC 7826 §18.54). Unicast choices are the ones `choose_unicast_transport` makes;
// multicast is offered only where the operator configured a range.

#include <asio/ip/address.hpp>
#include <cstdint>
#include <vector>

#include "rtsp/transport.hpp"

namespace sg::server {

// RTP/AVP over UDP asking for multicast delivery; its destination, port and ttl are the client's wishes,
// which the server overrides with the group it allocated.
bool is_served_multicast(const rtsp::TransportSpec& spec) noexcept;

// The first offered spec we serve, in the client's order of preference: unicast as
// choose_unicast_transport decides, or multicast when `multicast_enabled`. nullptr: answer 461.
const rtsp::TransportSpec* choose_transport(const std::vector<rtsp::TransportSpec>& specs,
                                            bool multicast_enabled);

// RTP/AVP;multicast;destination=G;port=P-P+1;ttl=T;ssrc=S (RTCP on P+1).
rtsp::TransportSpec multicast_answer(const asio::ip::address& group, std::uint16_t rtp_port, std::uint8_t ttl,
                                     std::uint32_t ssrc);

}  // namespace sg::server
