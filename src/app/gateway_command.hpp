#pragma once
// `streamgate gateway`: runs the SOCKS5 gateway until SIGINT/SIGTERM.

#include "app/config.hpp"

namespace sg::app {

// Returns the process exit status.
int run_gateway(const GatewayConfig& config);

}  // namespace sg::app
