#pragma once
// Targeted SDP rewrites for a gateway that relays a session to another address family or port:
// only the named fields change, everything else is written back as it was parsed.
// Fields touched: o= unicast-address (RFC 4566 §5.2), c= (§5.7), the m= port (§5.14) and a=control
// (RFC 2326 C.1.1). Not touched: addresses inside attributes such as a=rtcp (RFC 3605) or
// a=source-filter (RFC 4570).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "sdp/sdp.hpp"

namespace sg::sdp {

// Sets the address and addrtype of the o= line and of every c= line (session and media level). The
// new address is one unicast address, so c= TTLs and address counts, which described the old
// multicast group, are dropped. Returns false and changes nothing when `address` or `addrtype` is
// empty or holds a character that would break the line (space, tab, '/', CR, LF, NUL).
bool rewrite_addresses(SessionDescription& sd, std::string_view address, std::string_view addrtype);

// Sets the port of media section `index`; false when there is no such section.
bool set_media_port(SessionDescription& sd, std::size_t index, std::uint16_t port) noexcept;

// Replaces every a=control value (session and media level) with rewrite(trimmed value); "*" and
// relative URLs are passed too, the rewriter decides. A result holding CR, LF or NUL is refused (the
// attribute keeps its value); trailing spaces are dropped. Returns how many values were replaced.
using UrlRewriter = std::function<std::string(std::string_view)>;
std::size_t rewrite_control_urls(SessionDescription& sd, const UrlRewriter& rewrite);

}  // namespace sg::sdp
