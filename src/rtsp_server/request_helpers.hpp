#pragma once
// What `streamgate serve` and the gateway's RTSP proxy listener answer alike, so their replies cannot drift:
// session ids, the Content-Base of a DESCRIBE, and the transport a SETUP gets.

#include <string>
#include <string_view>
#include <vector>

#include "rtsp/message.hpp"
#include "rtsp/transport.hpp"

namespace sg::server {

// A new session id: 16 lowercase hex digits from a per-thread generator seeded by the OS.
std::string new_session_id();

// The aggregate URL clients resolve track controls against: the request URL without its query, with a
// trailing '/'.
std::string content_base(std::string_view uri);

// Requests that act on an existing session: PLAY, PAUSE, TEARDOWN, GET_PARAMETER and SET_PARAMETER.
bool is_session_method(std::string_view method) noexcept;

// A keep-alive that names no session (RFC 2326 §10.8: an empty GET_PARAMETER or SET_PARAMETER as a ping):
// answered 200, harmless, where any other request without a valid session is refused.
bool is_sessionless_keepalive(const rtsp::Request& request);

// The first offered transport we serve: RTP/AVP unicast over UDP (with client ports) or interleaved TCP.
// Nothing when none is (answer 461).
const rtsp::TransportSpec* choose_unicast_transport(const std::vector<rtsp::TransportSpec>& specs);

}  // namespace sg::server
