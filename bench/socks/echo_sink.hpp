#pragma once
// The benchmark's target server: a TCP echo service on one Asio thread. Every connection is echoed until the
// peer closes or sends the close request (tunnel.hpp), after which the sink closes first: a tunnel's teardown
// travels the whole path sink -> proxy -> client. It holds as many idle connections as it has descriptors,
// for the idle-memory measurement.

#include <asio/ip/tcp.hpp>
#include <chrono>

namespace sg::bench {

// Serves until SIGINT/SIGTERM or `max_time`. Prints "listening HOST:PORT" once it accepts. Returns the exit
// status.
int run_echo_sink(const asio::ip::tcp::endpoint& listen, std::chrono::seconds max_time);

}  // namespace sg::bench
