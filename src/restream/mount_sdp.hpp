#pragma once
// The session description a player of a mount gets: the upstream's, with the gateway as the source. o= and
// c= carry the gateway's address in the player's family (an IPv6-only player of an IPv4 origin must not be
// told to use IPv4), the session-level a=control is "*" and every RTP track's a=control is the relative
// "trackN", so they resolve against Content-Base rtsp://GW/NAME/ and SETUPs come to the gateway. m= sections
// that are not RTP are dropped (the gateway does not relay them); everything else (rtpmap, fmtp with the
// parameter sets a late joiner needs, a=range) stays as the origin wrote it.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace sg::proxy {

// The control of track `index` ("track0", "track1", ...).
std::string mount_track_control(std::size_t index);

// Rewrites `upstream_sdp` for players; `address` is the gateway's literal address as the player reaches it.
// Fails when the SDP does not parse or holds no RTP track.
Result<std::string> mount_sdp(std::string_view upstream_sdp, std::string_view address, bool ipv6);

// The rtpmap encoding name of each RTP track's first payload type, in track order ("" when not given).
std::vector<std::string> mount_track_encodings(std::string_view upstream_sdp);

}  // namespace sg::proxy
