#pragma once
// `streamgate mssr send FILE.sdp`: which RTP tracks an SDP file describes as input, and where each arrives.
// Pure (no I/O): the caller reads the file and binds the sockets.

#include <asio/ip/address.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace sg::mssr {

struct SdpInputTrack {
    std::string media;          // the m= line's type: video, audio, ...
    asio::ip::address address;  // c= (the section's own, else the session's): bound there, or joined
    std::uint16_t port = 0;     // RTP; its RTCP one above
};

// Every m= section, in order: it must be RTP (proto RTP/AVP or a profile of it), name a port other than 0,
// and have a c= address that is an IP literal of the c= line's family. Fails on none of them, or on an SDP
// that does not parse.
Result<std::vector<SdpInputTrack>> sdp_input_tracks(std::string_view sdp);

}  // namespace sg::mssr
