#pragma once
// What `streamgate serve` and the gateway's RTSP proxy listener answer alike, so their replies cannot drift:
// session ids, the Content-Base of a DESCRIBE, and the transport a SETUP gets.

#include <string>
#include <string_view>
#include <vector>

#include "rtsp/transport.hpp"

namespace sg::server {

// A new session id: 16 lowercase hex digits from a per-thread generator seeded by the OS.
std::string new_session_id();

// The aggregate URL clients resolve track controls against: the request URL without its query, with a
// trailing '/'.
std::string content_base(std::string_view uri);

// The first offered transport we serve: RTP/AVP unicast over UDP (with client ports) or interleaved TCP.
// Nothing when none is (answer 461).
const rtsp::TransportSpec* choose_unicast_transport(const std::vector<rtsp::TransportSpec>& specs);

}  // namespace sg::server
