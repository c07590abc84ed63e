#pragma once
// The system limits that decide how many players one testplayer process can run: descriptors
// (RLIMIT_NOFILE, capped by fs.nr_open) and local ports (net.ipv4.ip_local_port_range). The arithmetic is
// pure and unit-tested; `prepare_limits` applies it to this process before the run starts.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sg::loadtest {

// The track count is unknown before the first DESCRIBE; audio plus video is the usual stream.
inline constexpr std::size_t k_assumed_tracks = 2;
// Descriptors the process needs besides its players: stdio, epoll, the eventfds of the event loops, the
// JSON file, and sockets still closing.
inline constexpr std::uint64_t k_spare_descriptors = 64;

// What `players` concurrent players need. A player holds one RTSP (TCP) connection; over UDP it also holds
// an RTP and an RTCP socket per track, each bound to its own local port. All connections go to one server
// (or one SOCKS gateway), so every connection needs its own local TCP port too; TCP and UDP ports are
// separate spaces, each taken from ip_local_port_range.
struct Needs {
    std::uint64_t descriptors = 0;  // k_spare_descriptors included
    std::uint64_t tcp_ports = 0;
    std::uint64_t udp_ports = 0;
};
Needs needs_for(std::uint64_t players, bool tcp_transport, std::size_t tracks);

// RLIMIT_NOFILE as numbers; RLIM_INFINITY is UINT64_MAX.
struct DescriptorLimit {
    std::uint64_t soft = 0;
    std::uint64_t hard = 0;
    friend bool operator==(const DescriptorLimit&, const DescriptorLimit&) = default;
};

// The limit to ask for: the soft limit raised to `needed` (never lowered), up to the hard limit; when
// `may_raise_hard` (root, CAP_SYS_RESOURCE) the hard limit is raised too, up to `nr_open`, the kernel's
// ceiling for both.
DescriptorLimit descriptor_target(std::uint64_t needed, DescriptorLimit current, std::uint64_t nr_open,
                                  bool may_raise_hard);

// Why `limit` cannot hold `players` needing `needed` descriptors, with the command that fixes it; nothing
// when it fits.
std::optional<std::string> descriptor_problem(std::uint64_t players, std::uint64_t needed,
                                              DescriptorLimit limit, std::uint64_t nr_open);

struct PortRange {
    std::uint32_t first = 0;
    std::uint32_t last = 0;
    std::uint64_t size() const noexcept { return last >= first ? last - first + 1 : 0; }
};

// Why `range` cannot give `players` their local ports, with the sysctl that fixes it; nothing when it fits.
// Over UDP the ports depend on the track count: the message says when only a single-track stream fits.
std::optional<std::string> port_problem(std::uint64_t players, bool tcp_transport, PortRange range);

// "32768\t60999\n" (the /proc/sys/net/ipv4/ip_local_port_range format); nothing when malformed.
std::optional<PortRange> parse_port_range(std::string_view text);

struct LimitCheck {
    std::vector<std::string> notes;     // what was changed ("raised the descriptor limit ...")
    std::vector<std::string> problems;  // limits that still cannot fit the run, each with its fix
};

// Raises this process's descriptor limit to what `players` need (as far as allowed), then reports every
// limit that still falls short.
LimitCheck prepare_limits(std::uint64_t players, bool tcp_transport);

}  // namespace sg::loadtest
