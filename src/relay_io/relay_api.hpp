#pragma once
// The relay's part of the admin JSON API (docs/api.md):
//   GET    /api/v1/status                  what runs: version, uptime, event loops, interfaces, listeners,
//   calls GET    /api/v1/relay/calls?offset&limit  the calls, paged (limit 1-1000, default 100), each as
//   query reports it GET    /api/v1/relay/calls/{call-id}   one call (the Call-ID percent-encoded) DELETE
//   /api/v1/relay/calls/{call-id}   ends the call now, logged "ended by operator" (needs the token)

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "metrics/admin_server.hpp"
#include "relay/request.hpp"
#include "relay_io/shard.hpp"

namespace sg::relay_io {

struct ApiContext {
    std::string version;
    std::chrono::steady_clock::time_point started;
    std::vector<std::string> interfaces;
    std::vector<std::string> listeners;  // "ng udp 127.0.0.1:2223", ...
    std::string kernel_table;            // the nftables table forwarding in the kernel; empty: none
    std::string kernel_note;             // --table given and kernel forwarding off: why
    std::vector<std::unique_ptr<Shard>>* shards = nullptr;
};

// Registers the handlers on `admin`; `context` must outlive it.
void add_relay_api(metrics::AdminServer& admin, const ApiContext& context);

// A call report as JSON (also what tests compare against the ng query).
std::string call_report_json(const relay::CallReport& report);

}  // namespace sg::relay_io
