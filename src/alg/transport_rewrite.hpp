#pragma once
// The Transport header rewrites of the RTSP application-level gateway (rtsp_alg.hpp), as pure functions.
//
// A client asks for UDP media in SETUP with its own ports (client_port, maybe destination); the origin
// answers with its ports (server_port, maybe source). The gateway stands between them with two RTP/RTCP port
// pairs of its own, one facing each side, so:
//   request toward the origin: client_port = the origin-facing pair, destination (when given) = the
//     gateway's origin-facing address;
//   reply toward the client:   client_port = the client's own ports again, server_port = the client-facing
//     pair, source = the gateway's client-facing address (always set, so that the client's NAT punch and
//     RTCP packets come to the gateway), destination (when given) = the client's address.
// RFC 7826 dest_addr / src_addr are rewritten the same way. Only unicast RTP over UDP is relayed;
// multicast, interleaved (TCP) and unknown transports are not touched (the functions say "not relayable"
// and the caller forwards the header as it came).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "rtsp/transport.hpp"

namespace sg::alg {

// A spec the gateway relays: RTP over UDP, unicast (explicitly or by default), with client ports.
bool is_relayable(const rtsp::TransportSpec& spec) noexcept;

// The client ports of the first relayable spec of a SETUP request's Transport value; an error (with the
// reason) when no spec is relayable or the value does not parse.
Result<rtsp::PortRange> relayable_client_ports(std::string_view request_transport);

// The request's Transport value as sent to the origin: every relayable spec points at the origin-facing pair
// (`rtp_port`, `rtp_port` + 1) on `gateway_host` (an IP literal, IPv6 without brackets). Other specs stay.
Result<std::string> rewrite_setup_request(std::string_view request_transport, std::uint16_t rtp_port,
                                          std::string_view gateway_host);

// What the origin's SETUP reply says about its media, for the relay.
struct OriginMedia {
    std::optional<rtsp::PortRange> server_ports;  // where the origin takes RTP/RTCP from the client
    std::optional<std::string> source;            // the address it sends from, when it names one
};

struct ReplyRewrite {
    std::string transport;  // the Transport value for the client
    OriginMedia origin;
};

// The reply's Transport value as sent to the client: the first relayable-looking spec (RTP over unicast UDP;
// a reply need not repeat client_port) gets the client's own `client_ports`, the client-facing pair
// (`rtp_port`, `rtp_port` + 1) on `gateway_host` as server_port/source, and `client_host` as destination
// when the origin named one. An error when the reply chose no UDP unicast transport.
Result<ReplyRewrite> rewrite_setup_reply(std::string_view reply_transport, rtsp::PortRange client_ports,
                                         std::uint16_t rtp_port, std::string_view gateway_host,
                                         std::string_view client_host);

}  // namespace sg::alg
