#pragma once
// What a reload changes, in words an operator reads: the answer of `POST /api/v1/reload` and the SIGHUP log
// line. Pure: two parsed configurations in, one short phrase per change out (never a password).

#include <string>
#include <vector>

#include "app/config.hpp"

namespace sg::app {

// Empty when nothing changed. Listener changes are named with "(needs a restart)": a reload keeps the
// listeners it has.
std::vector<std::string> describe_changes(const GatewayConfig& before, const GatewayConfig& after);

}  // namespace sg::app
