#pragma once
// The one SDP change the RTSP application-level gateway makes: when client and origin are of different
// address families, the session description's o= and c= lines name an address the client cannot use. Some
// players take the family of their RTP sockets from c= (GStreamer's rtspsrc does), so an IPv6-only player
// of an IPv4 origin would open IPv4 sockets and receive nothing. The gateway is where the media comes from,
// so its client-facing address goes into o= and c=; everything else (URLs, ports, attributes) stays intact.

#include <optional>
#include <string>
#include <string_view>

namespace sg::alg {

// The rewritten description, or nullopt when `sdp` does not parse or already uses `address`'s family
// (then the caller forwards the body untouched). `address` is a literal IPv4 or IPv6 address.
std::optional<std::string> rewrite_sdp_family(std::string_view sdp, std::string_view address, bool ipv6);

}  // namespace sg::alg
