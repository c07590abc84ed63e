#pragma once
// The UDP sockets a client offers in SETUP's client_port: RTP on an even port and RTCP on the next one
// (RFC 3550 §11), in the address family of the RTSP connection.

#include <asio/any_io_executor.hpp>
#include <asio/ip/udp.hpp>
#include <cstdint>
#include <optional>
#include <string>

namespace sg::client {

struct UdpPortPair {
    asio::ip::udp::socket rtp;
    asio::ip::udp::socket rtcp;
    std::uint16_t rtp_port = 0;
};

// Binds both sockets on the wildcard address of `family` (asio::ip::udp::v4() or v6()). On failure returns
// nothing and sets `error` to a reason that names the limit hit ("too many open files (raise ulimit -n)",
// "no free UDP port pair (widen net.ipv4.ip_local_port_range)").
std::optional<UdpPortPair> open_udp_port_pair(const asio::any_io_executor& executor, asio::ip::udp family,
                                              std::string& error);

}  // namespace sg::client
