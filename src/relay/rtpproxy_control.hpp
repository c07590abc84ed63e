#pragma once
// rtpproxy's control protocol as a ControlProtocol (control.hpp), over UDP: a cookie first on every command.

#include <memory>

#include "relay/control.hpp"

namespace sg::relay {

std::unique_ptr<ControlProtocol> make_rtpproxy_protocol();

}  // namespace sg::relay
