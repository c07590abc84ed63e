#pragma once
// What the relay reads from and writes into a UA's SDP (RFC 4566, offer/answer RFC 3264): per media section
// the address and ports media comes from, and the rewrite that puts the relay in the path.
//
// Rewrite rules: every c= line (session and media level) carries the relay's address; each m= port the
// relay's RTP port for that section (a rejected section, port 0, stays 0); an a=rtcp attribute the relay's
// RTCP port and address (RFC 3605); o= only with replace-origin. ICE attributes are always removed: the relay
// is not an ICE agent, and candidates pointing at the UA would let media bypass it (so ICE "force" is treated
// as "remove"). Everything else is written back as it was parsed.

#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "relay/request.hpp"
#include "sdp/sdp.hpp"

namespace sg::relay {

enum class MediaDirection : std::uint8_t { sendrecv, sendonly, recvonly, inactive };

struct OfferedMedia {
    unsigned index = 0;           // 1-based, as rtpproxy's ";N" counts
    std::string media;            // "audio", "video", ...
    std::string proto;            // "RTP/AVP", ...
    std::optional<Address> rtp;   // c= address and m= port; nullopt when c= is not an IP literal
    std::optional<Address> rtcp;  // a=rtcp, else the RTP port + 1 (RFC 3550 §11); nullopt with rtcp-mux
    bool rtcp_mux = false;
    bool rejected = false;  // m= port 0
    MediaDirection direction = MediaDirection::sendrecv;
};

// Reads every media section. Fails when a section has no c= line at either level.
sg::Result<std::vector<OfferedMedia>> describe_media(const sdp::SessionDescription& sd);

// The relay's address for one media section, as the other side must send to it.
struct RelayPorts {
    Address rtp;
    bool rtcp_mux = false;  // RTCP on the RTP port
};

struct RewriteOptions {
    bool replace_origin = false;
};

// `ports[i]` for media section i (0-based); nullopt leaves that section's port as is (rejected sections).
// Fails, changing nothing, when `ports` does not match the sections or has no address at all.
sg::Result<bool> rewrite_for_relay(sdp::SessionDescription& sd,
                                   const std::vector<std::optional<RelayPorts>>& ports,
                                   const RewriteOptions& options);

}  // namespace sg::relay
