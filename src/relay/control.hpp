#pragma once
// One control protocol as the relay's listeners see it: a message in, a Request (or an immediate error reply)
// out; an Outcome in, the reply bytes out. rtpengine's ng protocol and rtpproxy's protocol implement it
// (ng_control.hpp, rtpproxy_control.hpp), so the listener code is the same for both.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relay/request.hpp"

namespace sg::relay {

struct Decoded {
    // Empty over a transport without cookies (rtpproxy on a unix stream socket); there, and for a message
    // whose cookie is missing where one is required, the reply cache is not used.
    std::string cookie;
    std::optional<Request>
        request;        // nullopt: send `reply` (an error in the protocol's terms) and do nothing
    std::string reply;  // empty with no request: nothing can be answered, drop the message
    std::string error;  // why the message was refused, for the log
    std::vector<std::string> unknown_flags;  // accepted and ignored; the listener logs each name once
};

class ControlProtocol {
public:
    virtual ~ControlProtocol() = default;
    virtual std::string_view name() const noexcept = 0;  // "ng", "rtpproxy": for logs and metric labels
    virtual Decoded decode(std::string_view message) const = 0;
    virtual std::string encode(std::string_view cookie, const Request& request,
                               const Outcome& outcome) const = 0;
};

}  // namespace sg::relay
