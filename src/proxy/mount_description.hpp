#pragma once
// What a mount tells its players about an SDP it is to serve (an upstream's DESCRIBE answer, a publisher's
// ANNOUNCE, the MSSR receiver's session description): each RTP track's clock rate and whether a new player
// waits for a key frame on it. One reading for all three, so a stream served one way is served the same way
// the others.

#include <string>

#include "common/result.hpp"
#include "proxy/mount.hpp"

namespace sg::proxy {

// Fails when the SDP does not parse, holds no RTP track, or could not be rewritten for players (mount_sdp).
Result<MountDescription> describe_mount(const std::string& sdp);

}  // namespace sg::proxy
