#pragma once
// `streamgate turn`'s part of the admin JSON API (docs/api.md):
//   GET    /api/v1/status                         version, uptime, listeners, allocations
//   GET    /api/v1/turn/allocations?offset&limit  the running allocations
//   GET    /api/v1/turn/allocations/{relayed}     one, named by its relayed address ("198.18.0.1:49160",
//                                                 percent-encoded); DELETE ends it ("ended by operator")
// The server runs on one event loop, the admin listener's: the callbacks read it directly.

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "metrics/admin_server.hpp"
#include "turn/turn_machine.hpp"

namespace sg::turn {

struct TurnApiContext {
    std::string version;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    std::vector<std::string> listeners;
    std::function<std::vector<AllocationInfo>()> allocations;
    std::function<bool(const stun::Address& relayed)> end;  // logged like any allocation end
};

// Registers the handlers on `admin`; `context` must outlive it.
void add_turn_api(metrics::AdminServer& admin, const TurnApiContext& context);

nlohmann::json allocation_json(const AllocationInfo& allocation);

}  // namespace sg::turn
