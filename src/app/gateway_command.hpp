#pragma once
// `streamgate gateway`: runs the SOCKS5 gateway until SIGINT/SIGTERM.

#include <functional>
#include <optional>
#include <string>

#include "app/config.hpp"

namespace sg::app {

// Builds the configuration again (file + command line) for SIGHUP and `POST /api/v1/reload`; nullopt when it
// is invalid, with `error` saying why (the running configuration stays).
using ConfigLoader = std::function<std::optional<GatewayConfig>(std::string& error)>;

// Returns the process exit status. `config_file` ("" for the built-in default) is shown by the admin API.
int run_gateway(const GatewayConfig& config, const ConfigLoader& reload, const std::string& config_file);

}  // namespace sg::app
