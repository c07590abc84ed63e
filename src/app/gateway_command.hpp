#pragma once
// `streamgate gateway`: runs the SOCKS5 gateway until SIGINT/SIGTERM.

#include <functional>
#include <optional>

#include "app/config.hpp"

namespace sg::app {

// Builds the configuration again (file + command line) for SIGHUP; nullopt when it is invalid (the error has
// been logged and the running configuration stays).
using ConfigLoader = std::function<std::optional<GatewayConfig>()>;

// Returns the process exit status.
int run_gateway(const GatewayConfig& config, const ConfigLoader& reload);

}  // namespace sg::app
