#pragma once
// The two client workloads of the SOCKS5 gateway benchmark (bench/socks/run.sh), each on one Asio thread:
//   rate: `concurrency` workers open, prove (one-byte echo) and tear down tunnels back to back for
//         `duration`; reports completed tunnels per second and the open latency.
//   hold: opens `count` tunnels (`concurrency` at a time), echoes `payload` bytes through each, reports how
//         many are up, then keeps them idle until SIGINT/SIGTERM or `hold` so the caller can read the proxy's
//         memory. With a payload, the proxy's relay buffers have been used before the tunnel goes idle.
//         With `echo_every` (the soak, bench/soak/run.sh) the tunnels are not idle: each echoes `payload`
//         bytes every `echo_every`, a tunnel that fails is closed and opened again, and a status line
//         (open tunnels, echoes, failures, re-opens) is printed every 10 s.
// Results are one JSON object on stdout.

#include <chrono>
#include <cstddef>

#include "tunnel.hpp"

namespace sg::bench {

struct RateOptions {
    TunnelPlan plan;
    std::size_t concurrency = 50;
    std::chrono::milliseconds duration{5000};
    std::chrono::milliseconds op_timeout{5000};  // one tunnel, open to teardown
};

struct HoldOptions {
    TunnelPlan plan;
    std::size_t count = 10000;
    std::size_t concurrency = 100;
    std::chrono::seconds hold{120};
    std::size_t payload = 0;                      // bytes echoed through each tunnel before it idles
    std::chrono::milliseconds op_timeout{10000};  // opening one tunnel, or one echo while holding
    std::chrono::milliseconds echo_every{0};      // 0: idle while held
};

int run_rate(const RateOptions& options);
int run_hold(const HoldOptions& options);

}  // namespace sg::bench
