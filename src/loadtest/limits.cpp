#include "loadtest/limits.hpp"

#include <sys/resource.h>

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <limits>
#include <sstream>

#include "common/text.hpp"

namespace sg::loadtest {
namespace {

// Linux's default fs.nr_open, used when /proc cannot be read.
constexpr std::uint64_t k_default_nr_open = 1 << 20;
// The widest ip_local_port_range that leaves the well-known ports alone.
constexpr std::uint64_t k_widest_range = 65535 - 1024 + 1;

std::string limit_text(std::uint64_t value) {
    return value == std::numeric_limits<std::uint64_t>::max() ? "unlimited" : std::to_string(value);
}

std::optional<std::string> read_proc(const char* path) {
    std::ifstream in(path);
    if (!in) return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::uint64_t nr_open() {
    if (const auto text = read_proc("/proc/sys/fs/nr_open")) {
        const std::string_view line = std::string_view(*text).substr(0, text->find('\n'));
        if (const auto value = parse_uint<std::uint64_t>(trim(line))) return *value;
    }
    return k_default_nr_open;
}

DescriptorLimit current_descriptor_limit() {
    ::rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return {};
    // RLIM_INFINITY is the largest rlim_t, so it maps onto UINT64_MAX.
    return {static_cast<std::uint64_t>(limit.rlim_cur), static_cast<std::uint64_t>(limit.rlim_max)};
}

bool set_descriptor_limit(DescriptorLimit wanted) {
    const ::rlimit limit{static_cast<rlim_t>(wanted.soft), static_cast<rlim_t>(wanted.hard)};
    return ::setrlimit(RLIMIT_NOFILE, &limit) == 0;
}

}  // namespace

Needs needs_for(std::uint64_t players, bool tcp_transport, std::size_t tracks) {
    const std::uint64_t udp_per_player = tcp_transport ? 0 : 2 * static_cast<std::uint64_t>(tracks);
    return Needs{players * (1 + udp_per_player) + k_spare_descriptors, players, players * udp_per_player};
}

DescriptorLimit descriptor_target(std::uint64_t needed, DescriptorLimit current, std::uint64_t nr_open,
                                  bool may_raise_hard) {
    if (needed <= current.soft) return current;
    DescriptorLimit target = current;
    // All of the hard limit is taken (descriptors cost nothing until used, and the estimate may fall short
    // for a stream with more tracks than assumed), but no more than fs.nr_open: the kernel refuses that
    // even under an "unlimited" hard limit.
    target.soft = std::max(current.soft, std::min(current.hard, nr_open));
    if (needed > current.hard && may_raise_hard) {
        target.hard = std::max(current.hard, std::min(needed, nr_open));
        target.soft = std::max(current.soft, target.hard);
    }
    return target;
}

std::optional<std::string> descriptor_problem(std::uint64_t players, std::uint64_t needed,
                                              DescriptorLimit limit, std::uint64_t nr_open) {
    if (needed <= limit.soft) return std::nullopt;
    std::string fix;
    if (needed <= limit.hard) {
        fix = fmt::format("`ulimit -n {}`", needed);
    } else if (needed <= nr_open) {
        fix = fmt::format(
            "`ulimit -Hn {0} && ulimit -n {0}` as root with CAP_SYS_RESOURCE (a service: "
            "LimitNOFILE={0}; a container: its runtime's nofile ulimit, e.g. docker run --ulimit "
            "nofile={0}:{0})",
            needed);
    } else {
        fix = fmt::format(
            "`sysctl -w fs.nr_open={0}`, then `ulimit -Hn {0} && ulimit -n {0}` as root (fs.nr_open is {1})",
            needed, nr_open);
    }
    return fmt::format(
        "{} players need about {} file descriptors but the limit is {} (hard limit {}): raise "
        "it with {} before starting testplayer",
        players, needed, limit_text(limit.soft), limit_text(limit.hard), fix);
}

std::optional<std::string> port_problem(std::uint64_t players, bool tcp_transport, PortRange range) {
    const std::uint64_t available = range.size();
    const auto range_text =
        fmt::format("net.ipv4.ip_local_port_range ({}-{}) has {} ports", range.first, range.last, available);
    const auto needs = needs_for(players, tcp_transport, k_assumed_tracks);
    const auto single = needs_for(players, tcp_transport, 1);
    const std::uint64_t most = std::max(needs.tcp_ports, needs.udp_ports);
    if (most <= available) return std::nullopt;
    std::string fix;
    if (most <= k_widest_range) {
        fix = fmt::format("widen it with `sysctl -w net.ipv4.ip_local_port_range=\"{} 65535\"`",
                          std::max<std::uint64_t>(1024, 65536 - std::max(most, available)));
    } else {
        fix =
            "no range is that wide: split the players over several testplayer processes on different "
            "source addresses, or over several servers";
    }
    if (tcp_transport) {
        return fmt::format("{} players need {} local TCP ports (one per connection to the server) but {}: {}",
                           players, needs.tcp_ports, range_text, fix);
    }
    if (std::max(single.tcp_ports, single.udp_ports) <= available) {
        return fmt::format(
            "{} players need {} local UDP ports with audio and video (2 per track) but {}, "
            "enough for a single-track stream only: {}",
            players, needs.udp_ports, range_text, fix);
    }
    return fmt::format(
        "{} players need {} local UDP ports even for a single-track stream (2 per track; {} "
        "with audio and video) but {}: {}",
        players, single.udp_ports, needs.udp_ports, range_text, fix);
}

std::optional<PortRange> parse_port_range(std::string_view text) {
    text = trim(text.substr(0, text.find('\n')));
    const auto tab = text.find_first_of(" \t");
    if (tab == std::string_view::npos) return std::nullopt;
    const auto first = parse_uint<std::uint16_t>(text.substr(0, tab));
    const auto last = parse_uint<std::uint16_t>(trim(text.substr(tab + 1)));
    if (!first || !last || *last < *first) return std::nullopt;
    return PortRange{*first, *last};
}

LimitCheck prepare_limits(std::uint64_t players, bool tcp_transport) {
    LimitCheck check;
    const auto needs = needs_for(players, tcp_transport, k_assumed_tracks);
    const auto ceiling = nr_open();
    const auto before = current_descriptor_limit();
    auto target = descriptor_target(needs.descriptors, before, ceiling, /*may_raise_hard=*/true);
    // Raising the hard limit needs root (CAP_SYS_RESOURCE); without it, the soft limit still goes up.
    if (target != before && !set_descriptor_limit(target) && target.hard != before.hard) {
        target = descriptor_target(needs.descriptors, before, ceiling, /*may_raise_hard=*/false);
        if (target != before) (void)set_descriptor_limit(target);
    }
    const auto after = current_descriptor_limit();
    if (after != before) {
        check.notes.push_back(fmt::format(
            "raised the descriptor limit from {} (hard {}) to {} (hard {}); {} players need about {}",
            limit_text(before.soft), limit_text(before.hard), limit_text(after.soft), limit_text(after.hard),
            players, needs.descriptors));
    }
    if (auto problem = descriptor_problem(players, needs.descriptors, after, ceiling)) {
        // The estimate assumes audio and video; say so when a single-track stream would still fit.
        const auto single = needs_for(players, tcp_transport, 1).descriptors;
        if (single < needs.descriptors && single <= after.soft)
            *problem += fmt::format(
                " (that is with audio and video; a single-track stream needs {}, which fits)", single);
        check.problems.push_back(std::move(*problem));
    }
    if (const auto text = read_proc("/proc/sys/net/ipv4/ip_local_port_range")) {
        if (const auto range = parse_port_range(*text)) {
            if (auto problem = port_problem(players, tcp_transport, *range))
                check.problems.push_back(std::move(*problem));
        }
    }
    return check;
}

}  // namespace sg::loadtest
