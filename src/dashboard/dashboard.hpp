#pragma once
// The web dashboard: a page at / on the admin listener with live tables of what the JSON API lists (SOCKS
// sessions, mounts and players, ALG relays, relay calls, TURN allocations: whichever this process serves), an
// "end" button where the API allows DELETE (the admin token is asked once), and charts of throughput, active
// sessions and loss over the last minutes computed from /metrics. Everything it loads comes from the admin
// listener itself; the assets are compiled in (uPlot, MIT, from third_party/uplot).

#include "metrics/admin_server.hpp"

namespace sg::dashboard {

// Registers the dashboard's pages on `admin` (before listen()).
void add_dashboard(metrics::AdminServer& admin);

}  // namespace sg::dashboard
