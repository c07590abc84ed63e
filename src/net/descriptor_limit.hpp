#pragma once
// Daemons hold a few descriptors per session (a proxy two per relayed connection, an origin a connection,
// a file and two UDP sockets per viewer); the usual soft limit of 1024 would cap them at a few hundred
// sessions. raise_descriptor_limit() takes what the hard limit allows, logs it, and warns when even that is
// low.

#include <cstdint>
#include <string_view>

namespace sg::net {

// Raises RLIMIT_NOFILE's soft limit to the hard one. `per_session` descriptors per `what` ("sessions",
// "viewers") turn the limit into the capacity named in the warning. Returns the limit now in force.
std::uint64_t raise_descriptor_limit(std::string_view what, unsigned per_session);

}  // namespace sg::net
