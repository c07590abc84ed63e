#pragma once
// `streamgate relay`'s options turned into the relay's configuration; `streamgate check-config` uses the same
// checks on a relay file.

#include <optional>

#include "app/relay_config_file.hpp"
#include "relay_io/relay_server.hpp"

namespace sg::app {

// Checks the options and builds the configuration; nullopt after saying why on stderr.
std::optional<relay_io::RelayConfig> relay_config(const RelayFlags& flags);

}  // namespace sg::app
