#pragma once
// rtpengine's ng protocol as a ControlProtocol (control.hpp): the ng codec behind the listener interface.

#include <memory>

#include "relay/control.hpp"

namespace sg::relay {

std::unique_ptr<ControlProtocol> make_ng_protocol();

}  // namespace sg::relay
