#pragma once
// `streamgate turn`'s options turned into the server's configuration; `streamgate check-config` uses the same
// checks on a turn file.

#include <optional>

#include "app/turn_config_file.hpp"
#include "turn/turn_server.hpp"

namespace sg::app {

// Checks the options and builds the configuration; nullopt after saying why on stderr.
std::optional<turn::TurnServerConfig> turn_config(const TurnFlags& flags);

}  // namespace sg::app
