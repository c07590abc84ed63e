#pragma once
// `streamgate turn`: the STUN/TURN server's I/O half. One UDP socket and one TCP listener per listening IP
// (TCP clients: one coroutine per connection, framed by stun::frame_stream_item, answers through a bounded
// queue), one relayed UDP socket per allocation, all on one event loop that feeds the pure TurnMachine and
// carries out what it answers. A timer expires allocations, permissions and channels once a second; every
// ended allocation is one log line.

#include <asio/ssl/context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/endpoint.hpp"
#include "punch/rendezvous.hpp"
#include "turn/turn_machine.hpp"

namespace sg::turn {

struct TurnServerConfig {
    std::vector<std::string> listening_ips;  // literal addresses
    std::uint16_t listening_port = 3478;
    // RFC 5780: with two listening IPs of a family, both also listen (UDP) on this port. 0: never.
    std::uint16_t alt_listening_port = 0;
    std::vector<std::string> relay_ips;  // empty: the (non-wildcard) listening IPs
    std::uint16_t min_port = 49152;
    std::uint16_t max_port = 65535;
    bool tcp = true;  // also listen on TCP (same addresses and port)
    // TURN over TLS ("turns:", RFC 7065): with a context, every listening IP also takes TLS on this port.
    std::shared_ptr<asio::ssl::context> tls;
    std::uint16_t tls_listening_port = 5349;
    std::size_t max_tcp_connections = 1024;         // TCP clients at once; more are closed at accept
    std::chrono::seconds max_allocate_timeout{60};  // a TCP/TLS client without an allocation by then: closed
    std::optional<net::HostPort> admin;             // Prometheus /metrics and the JSON API (turn_api.hpp)
    std::string admin_token;                        // lets the API end allocations; empty: read-only
    std::string version;
    TurnOptions options;
    // `streamgate punch`'s rendezvous on the UDP listeners (src/punch/rendezvous.hpp): Register requests are
    // answered by it, everything else by the TURN machine.
    bool rendezvous = false;
    punch::RendezvousOptions rendezvous_options;
    // SIGHUP: the credentials to use from now on (read again from the configuration file), or nullopt and
    // why in `error` (the old ones stay). Unset: SIGHUP is logged and changes nothing.
    std::function<std::optional<TurnCredentials>(std::string& error)> reload_credentials;
};

// Serves until SIGINT or SIGTERM (SIGHUP reloads the credentials); returns the exit status (2 for a
// configuration or bind error).
int run_turn(const TurnServerConfig& config);

}  // namespace sg::turn
