#pragma once
// The gateway's part of the admin JSON API (docs/api.md), above the modules it reads (socks, proxy,
// alg_relay), which know nothing of it:
//   GET    /api/v1/status                      version, uptime, listeners, config file, last reload
//   GET    /api/v1/socks/sessions?offset&limit  running SOCKS sessions, oldest first
//   GET    /api/v1/socks/sessions/{id}          one session; DELETE ends it ("ended by operator")
//   GET    /api/v1/rtsp/mounts?offset&limit     the RTSP proxy's mounts by name; /{name}: one mount
//   GET    /api/v1/rtsp/players?offset&limit    player sessions by mount and id; /{id}: one; DELETE ends it
//   GET    /api/v1/alg/relays?offset&limit      the RTSP ALG's running UDP media relays
//   POST   /api/v1/reload                      what SIGHUP does; answers what changed or why it was refused
// The admin listener, the RTSP proxy and the signals run on the gateway's first event loop, where the
// handlers read the proxy directly; SOCKS sessions and the ALG's media relays are spread over every loop, so
// their listings visit each loop on its own thread (socks::Server::sessions, RtspAlg::relays).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <asio/io_context.hpp>

#include "metrics/admin_server.hpp"

namespace sg::socks {
class Server;
}
namespace sg::proxy {
class RtspProxy;
}
namespace sg::alg {
class RtspAlg;
}

namespace sg::gateway_api {

struct ReloadOutcome {
    bool applied = false;
    std::vector<std::string> changes;  // applied: what changed (app/config_diff.hpp); may be empty
    std::string error;                 // refused: why (the file's error, with its line where known)
};

struct GatewayApiContext {
    std::string version;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    std::vector<std::string> listeners;  // "socks 127.0.0.1:1080", "rtsp [::]:8554", "admin ..."
    std::string config_file;             // "": the built-in default
    // The last reload (SIGHUP or API), kept up to date by `reload`.
    std::int64_t last_reload_unix = 0;  // 0: none yet
    ReloadOutcome last_reload;
    socks::Server* socks = nullptr;
    proxy::RtspProxy* rtsp = nullptr;  // null: no RTSP proxy listener
    alg::RtspAlg* alg = nullptr;
    // The event loops the SOCKS sessions (and so the ALG's relays) run on; empty: only the admin's own.
    std::vector<asio::io_context*> loops;
    std::function<ReloadOutcome()> reload;  // what SIGHUP does
};

// Registers the handlers on `admin`; `context` must outlive it.
void add_gateway_api(metrics::AdminServer& admin, GatewayApiContext& context);

}  // namespace sg::gateway_api
