#pragma once
// `streamgate punch`: runs the pure PunchMachine on two UDP sockets. The network socket (one for everything,
// so the rendezvous, the peer and the TURN server all see the same NAT mapping) carries the rendezvous,
// probes, TURN and the peer's data; the local socket (--listen) takes what a local program sends and gives
// it what the peer sent (to --forward). Three coroutines on one event loop: network receive, local receive,
// and a timer that ticks the machine. The path is reported on stdout once chosen (a line, or JSON).

#include <chrono>
#include <optional>
#include <string>

#include "net/endpoint.hpp"

namespace sg::punch {

struct PunchClientConfig {
    net::HostPort rendezvous;
    std::string id;
    std::string peer;
    net::HostPort forward;                // the peer's data goes here
    std::optional<net::HostPort> listen;  // local data comes in here; default: an ephemeral loopback port
    std::optional<net::HostPort> turn;
    std::string turn_user;
    std::string turn_password;
    std::string rendezvous_secret;  // empty: registrations and probes are not signed
    std::chrono::milliseconds deadline{3000};
    // The family of the network socket: 4 or 6, or 0 (auto) for the family of the first address
    // --rendezvous resolves to. --turn is resolved in the same family: one socket reaches both.
    int family = 0;
    bool json = false;
};

// Runs until SIGINT or SIGTERM (0), or until no path can be had (1); 2 for a configuration error.
int run_punch(const PunchClientConfig& config);

}  // namespace sg::punch
