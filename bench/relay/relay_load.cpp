// relay_load: the load generator of the media relay benchmark (bench/relay/run.sh, docs/benchmarks.md).
//   relay_load --ng HOST:PORT [--calls N] [--seconds T] [--pid PID] [--relay-ports MIN-MAX]
//              [--address IP] [--label NAME] [--drain-ms MS]
// Sets N calls up on a relay through rtpengine's ng protocol, sends G.711-sized RTP through them (50
// packets/s each way per call) for T seconds from one socket per side, deletes them, and prints one JSON
// object: packets each way, loss (packets forwarded more than --drain-ms after the last burst count as lost,
// and are reported as late), and, with --pid, the relay's CPU time (utime + stime of every thread) over
// the media window, per million relayed packets. --relay-ports names the relay's port range, whose UDP
// receive-queue drops (/proc/net/udp) are reported, as are the generator's own.

#include <sys/resource.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "common/text.hpp"
#include "media_load.hpp"
#include "net/endpoint.hpp"

namespace {

using asio::ip::udp;
using Clock = std::chrono::steady_clock;

constexpr std::string_view k_usage =
    "usage: relay_load --ng HOST:PORT [--calls N] [--seconds T] [--pid PID] [--relay-ports MIN-MAX]\n"
    "                  [--address IP] [--label NAME] [--drain-ms MS]\n";

int usage_error(const std::string& why) {
    std::fprintf(stderr, "relay_load: %s\n%.*s", why.c_str(), static_cast<int>(k_usage.size()),
                 k_usage.data());
    return 2;
}

// utime + stime of every thread of `pid`, in seconds; negative when the process is gone.
double process_cpu_seconds(long pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto paren = text.rfind(')');
    if (paren == std::string::npos) return -1;
    std::istringstream fields(text.substr(paren + 1));
    std::string field;
    double ticks = 0;
    for (int i = 3; i <= 15 && fields >> field; ++i)  // fields 14 and 15 of proc(5): utime, stime
        if (i >= 14) ticks += std::stod(field);
    return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// CPU time of every process on the machine (utime + stime of each /proc/PID, kernel threads such as
// ksoftirqd included), in seconds. Work the kernel does on a relay's behalf outside its process (forwarding
// in the kernel, softirqs run in the sender's system call) shows here and not in process_cpu_seconds.
// /proc/stat would be simpler but samples at the timer tick, and a load that wakes on the tick (this
// generator's 20 ms schedule) hides from it.
double machine_cpu_seconds() {
    double total = 0;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
        const std::string name = entry.path().filename().string();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
        const double seconds = process_cpu_seconds(std::stol(name));
        if (seconds > 0) total += seconds;
    }
    return total;
}

double own_cpu_seconds() {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
           static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// Receive-queue drops of the IPv4 UDP sockets whose local port is in [low, high] (proc(5), /proc/net/udp:
// the last column).
std::uint64_t udp_drops(unsigned low, unsigned high) {
    std::uint64_t drops = 0;
    // rtpengine binds IPv4 media through IPv6 sockets (v4-mapped): those are listed in udp6.
    for (const char* path : {"/proc/net/udp", "/proc/net/udp6"}) {
        std::ifstream in(path);
        std::string line;
        std::getline(in, line);  // the header
        while (std::getline(in, line)) {
            std::istringstream fields(line);
            std::string slot;
            std::string local;
            fields >> slot >> local;
            const auto colon = local.find(':');
            if (colon == std::string::npos) continue;
            const auto port = std::stoul(local.substr(colon + 1), nullptr, 16);
            if (port < low || port > high) continue;
            std::string last;
            for (std::string field; fields >> field;)
                last = field;
            drops += std::stoull(last);
        }
    }
    return drops;
}

// The kernel's UDP counters (/proc/net/snmp, "Udp:" lines: names, then values), machine-wide: they catch
// drops no socket of ours or the relay's was charged with.
std::map<std::string, std::uint64_t> udp_counters() {
    std::ifstream in("/proc/net/snmp");
    std::vector<std::string> names;
    std::map<std::string, std::uint64_t> counters;
    for (std::string line; std::getline(in, line);) {
        if (!line.starts_with("Udp: ")) continue;
        std::istringstream fields(line.substr(5));
        if (names.empty()) {
            for (std::string name; fields >> name;)
                names.push_back(name);
            continue;
        }
        std::uint64_t v = 0;
        for (std::size_t i = 0; i < names.size() && fields >> v; ++i)
            counters[names[i]] = v;
        break;
    }
    return counters;
}

// Packets the per-CPU input backlog dropped (/proc/net/softnet_stat, second column, hex): loopback
// delivery goes through it.
std::uint64_t backlog_drops() {
    std::ifstream in("/proc/net/softnet_stat");
    std::uint64_t drops = 0;
    for (std::string line; std::getline(in, line);) {
        std::istringstream fields(line);
        std::string processed;
        std::string dropped;
        if (fields >> processed >> dropped) drops += std::stoull(dropped, nullptr, 16);
    }
    return drops;
}

void print_direction(const char* name, const sg::bench::DirectionStats& d) {
    std::printf(
        "\"%s\": {\"sent\": %llu, \"received\": %llu, \"lost\": %llu, \"late\": %llu, \"duplicates\": %llu, "
        "\"reordered\": "
        "%llu, "
        "\"misrouted\": %llu, \"foreign\": %llu}",
        name, static_cast<unsigned long long>(d.sent), static_cast<unsigned long long>(d.received),
        static_cast<unsigned long long>(d.lost()), static_cast<unsigned long long>(d.late),
        static_cast<unsigned long long>(d.duplicates), static_cast<unsigned long long>(d.reordered),
        static_cast<unsigned long long>(d.misrouted), static_cast<unsigned long long>(d.foreign));
}

}  // namespace

int main(int argc, char** argv) {
    std::map<std::string, std::string, std::less<>> args;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "-h" || arg == "--help") {
            std::fwrite(k_usage.data(), 1, k_usage.size(), stdout);
            return 0;
        }
        if (!arg.starts_with("--") || i + 1 >= argc) return usage_error("bad argument " + std::string(arg));
        args[std::string(arg.substr(2))] = argv[++i];
    }
    const auto value = [&](std::string_view key, std::string fallback) {
        const auto it = args.find(key);
        return it == args.end() ? fallback : it->second;
    };
    for (const auto& [key, v] : args)
        if (key != "ng" && key != "calls" && key != "seconds" && key != "pid" && key != "relay-ports" &&
            key != "address" && key != "label" && key != "drain-ms")
            return usage_error("unknown option --" + key);

    const auto ng = sg::net::parse_host_port(value("ng", ""));
    const auto calls = sg::parse_uint<std::size_t>(value("calls", "500"));
    const auto seconds = sg::parse_uint<unsigned>(value("seconds", "10"));
    const auto drain_ms = sg::parse_uint<unsigned>(value("drain-ms", "1000"));
    const auto pid = sg::parse_uint<unsigned>(value("pid", "0"));
    asio::error_code ec;
    const auto address = asio::ip::make_address(value("address", "127.0.0.1"), ec);
    if (!ng || !calls || *calls == 0 || !seconds || *seconds == 0 || !drain_ms || !pid || ec)
        return usage_error("bad or missing option");
    const auto ng_address = asio::ip::make_address(ng->host, ec);
    if (ec) return usage_error("--ng wants an IP literal");
    unsigned ports_low = 0;
    unsigned ports_high = 0;
    if (const auto range = value("relay-ports", ""); !range.empty()) {
        const auto dash = range.find('-');
        const auto low = sg::parse_uint<std::uint16_t>(range.substr(0, dash));
        const auto high =
            dash == std::string::npos ? std::nullopt : sg::parse_uint<std::uint16_t>(range.substr(dash + 1));
        if (!low || !high || *high < *low) return usage_error("--relay-ports wants MIN-MAX");
        ports_low = *low;
        ports_high = *high;
    }
    const auto label = value("label", "relay");

    asio::io_context io(1);
    sg::bench::MediaSides sides(io, address);
    sg::bench::NgClient client(io, udp::endpoint(ng_address, ng->port));
    const auto prefix = "relay_load-" + std::to_string(::getpid()) + '-' + label;

    // --- set up ------------------------------------------------------------------------------------------
    const auto setup_start = Clock::now();
    sg::bench::SetupResult setup;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            setup = co_await sg::bench::setup_calls(client, *calls, prefix, sides.a.local_endpoint(),
                                                    sides.b.local_endpoint());
        },
        asio::detached);
    io.run();
    const double setup_seconds = std::chrono::duration<double>(Clock::now() - setup_start).count();
    std::fprintf(stderr, "relay_load: %s: %zu of %zu calls set up in %.1f s%s%s\n", label.c_str(),
                 setup.calls.size(), *calls, setup_seconds, setup.failed ? "; first failure: " : "",
                 setup.first_error.c_str());

    // --- media
    // -----------------------------------------------------------------------------------------------
    const auto port_a = sides.a.local_endpoint().port();
    const auto port_b = sides.b.local_endpoint().port();
    const auto relay_drops_before = ports_high ? udp_drops(ports_low, ports_high) : 0;
    const auto own_drops_before = udp_drops(port_a, port_a) + udp_drops(port_b, port_b);
    const auto udp_before = udp_counters();
    const auto backlog_before = backlog_drops();
    const double relay_cpu_before = *pid ? process_cpu_seconds(*pid) : 0;
    const double own_cpu_before = own_cpu_seconds();
    const double machine_cpu_before = machine_cpu_seconds();
    sg::bench::MediaResult media;
    if (!setup.calls.empty()) {
        sg::bench::MediaPlan plan{setup.calls, std::chrono::seconds(*seconds),
                                  std::chrono::milliseconds(*drain_ms)};
        media = sg::bench::run_media(io, sides, plan, [&](const sg::bench::MediaResult& now, double elapsed) {
            std::fprintf(
                stderr,
                "relay_load: %s: %5.1f s  A->B %llu sent %llu received  B->A %llu sent %llu received\n",
                label.c_str(), elapsed, static_cast<unsigned long long>(now.a_to_b.sent),
                static_cast<unsigned long long>(now.a_to_b.received),
                static_cast<unsigned long long>(now.b_to_a.sent),
                static_cast<unsigned long long>(now.b_to_a.received));
        });
    }
    const double relay_cpu = *pid ? process_cpu_seconds(*pid) - relay_cpu_before : 0;
    const double own_cpu = own_cpu_seconds() - own_cpu_before;
    const double machine_cpu = machine_cpu_seconds() - machine_cpu_before;
    const auto relay_drops = ports_high ? udp_drops(ports_low, ports_high) - relay_drops_before : 0;
    const auto own_drops = udp_drops(port_a, port_a) + udp_drops(port_b, port_b) - own_drops_before;
    auto udp_after = udp_counters();
    const auto backlog = backlog_drops() - backlog_before;
    const bool relay_alive = *pid == 0 || process_cpu_seconds(*pid) >= 0;

    // --- tear down
    // -------------------------------------------------------------------------------------------
    std::size_t deleted = 0;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            deleted = co_await sg::bench::delete_calls(client, *calls, prefix);
        },
        asio::detached);
    io.restart();
    io.run();

    // --- result
    // ------------------------------------------------------------------------------------------------
    const auto relayed = media.a_to_b.received + media.b_to_a.received;
    const auto lost = media.a_to_b.lost() + media.b_to_a.lost();
    std::printf("{\"label\": \"%s\", \"calls\": %zu, \"calls_set_up\": %zu, \"setup_failures\": %zu, ",
                label.c_str(), *calls, setup.calls.size(), setup.failed);
    std::printf("\"first_setup_error\": \"%s\", \"setup_seconds\": %.3f, ", setup.first_error.c_str(),
                setup_seconds);
    std::printf(
        "\"seconds\": %u, \"send_seconds\": %.3f, \"packet_bytes\": %zu, \"packets_per_second_each_way\": "
        "%zu, ",
        *seconds, media.send_seconds, sg::bench::k_rtp_packet_size, setup.calls.size() * 50);
    print_direction("a_to_b", media.a_to_b);
    std::printf(", ");
    print_direction("b_to_a", media.b_to_a);
    std::printf(", \"relayed\": %llu, \"lost\": %llu, ", static_cast<unsigned long long>(relayed),
                static_cast<unsigned long long>(lost));
    if (*pid) {
        std::printf("\"relay_pid\": %u, \"relay_alive\": %s, \"relay_cpu_seconds\": %.3f, ", *pid,
                    relay_alive ? "true" : "false", relay_cpu);
        std::printf("\"relay_cpu_seconds_per_million\": %.3f, ", relayed ? relay_cpu / (relayed / 1e6) : 0.0);
    }
    if (ports_high)
        std::printf("\"relay_socket_drops\": %llu, ", static_cast<unsigned long long>(relay_drops));
    std::printf(
        "\"generator_socket_drops\": %llu, \"generator_cpu_seconds\": %.3f, \"max_tick_lag_ms\": %.1f, ",
        static_cast<unsigned long long>(own_drops), own_cpu, media.max_tick_lag_ms);
    std::printf("\"machine_cpu_seconds\": %.3f, \"machine_cpu_seconds_per_million\": %.3f, ", machine_cpu,
                relayed ? machine_cpu / (relayed / 1e6) : 0.0);
    std::printf("\"backlog_drops\": %llu, ", static_cast<unsigned long long>(backlog));
    for (const char* name : {"RcvbufErrors", "SndbufErrors", "MemErrors", "NoPorts", "InErrors"})
        std::printf("\"udp_%s\": %llu, ", name,
                    static_cast<unsigned long long>(udp_after[name] -
                                                    (udp_before.contains(name) ? udp_before.at(name) : 0)));
    std::printf("\"deleted\": %zu}\n", deleted);
    return setup.calls.empty() ? 1 : 0;
}
