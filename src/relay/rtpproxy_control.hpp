#pragma once
// rtpproxy's control protocol as a ControlProtocol (control.hpp): over UDP a cookie comes first on every
// command; over a unix stream socket (Kamailio's `rtpproxy_sock "unix:/path"`) there is none.

#include <memory>

#include "relay/control.hpp"

namespace sg::relay {

enum class RtpproxyTransport { udp, stream };
std::unique_ptr<ControlProtocol> make_rtpproxy_protocol(RtpproxyTransport transport = RtpproxyTransport::udp);

}  // namespace sg::relay
