#pragma once
// Listener and target addresses as users write them: `HOST:PORT` or `[IPV6]:PORT`. Pure text handling; the
// conversion to Asio endpoints lives in asio_endpoint.hpp.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace sg::net {

struct HostPort {
    std::string host;  // IPv6 literals are stored without brackets
    std::uint16_t port = 0;

    bool operator==(const HostPort&) const = default;
};

// Accepts `host:port`, `1.2.3.4:port` and `[v6]:port`. A bare IPv6 address without brackets is rejected
// because its last group could be read as a port. Port 0 is allowed (bind to an ephemeral port).
sg::Result<HostPort> parse_host_port(std::string_view text);

// The inverse of parse_host_port: brackets around hosts that contain ':'.
std::string to_string(const HostPort& hp);

}  // namespace sg::net
