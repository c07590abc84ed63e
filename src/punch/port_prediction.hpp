#pragma once
// Port prediction for symmetric NATs that allocate their public ports sequentially (docs/nat-traversal.md).
// Pure arithmetic on mapped ports, no I/O.
//
// A symmetric NAT gives each new destination a new public port, so the port the rendezvous saw is not the
// one the peer's probes arrive from, and a port-restricted peer's NAT drops them. Many NATs hand out those
// ports in order: the next destination gets the last port plus a fixed step d (often 1, 2 with port pairs,
// or the number of ports each mapping reserves). The classifier's mapping tests open three mappings from
// the punch socket in a row (to the server, to its other IP, to its other IP and port): M1, M2, M3. The
// step is d = M3 - M2 (two allocations back to back); M2 - M1 must be a small positive multiple of it (the
// socket's probes to the peer may have taken a port or a few between the two). The cone side then probes
// the peer's ports p + k*d, k = 1..window, where p is the port the rendezvous saw (M1): the probe mapping
// the symmetric side opened to us lies in that window whether it was opened before or after M2 and M3,
// unless other hosts behind the NAT took more than `window` ports in between.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace sg::punch {

inline constexpr int k_max_port_step = 64;              // larger steps are taken for randomness
inline constexpr std::size_t k_prediction_window = 12;  // ports probed beyond the one the rendezvous saw

// The allocation step from three successive mapped ports of one socket (to three destinations, in the
// order they were opened); nullopt when they do not look sequential (a cone NAT's equal ports, random
// allocation, a step over k_max_port_step, or M2 - M1 not 1..window steps).
std::optional<int> sequential_step(std::uint16_t m1, std::uint16_t m2, std::uint16_t m3) noexcept;

// p + k*step for k = 1..window, skipping what falls outside 1024..65535 (NATs do not hand out those).
std::vector<std::uint16_t> predicted_ports(std::uint16_t p, int step,
                                           std::size_t window = k_prediction_window);

}  // namespace sg::punch
