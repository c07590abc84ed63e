// `streamgate relay`: the media relay's command line. Option names are rtpengine's where they mean the same,
// so an rtpengine command line (as Kamailio deployments have them) starts this relay unchanged.

#include <spdlog/spdlog.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <thread>

#include "app/config.hpp"
#include "app/logging.hpp"
#include "app/option_table.hpp"
#include "app/relay_cli.hpp"
#include "app/relay_config_file.hpp"
#include "app/subcommand.hpp"
#include "common/text.hpp"
#include "net/relay.hpp"
#include "relay/address.hpp"
#include "relay_io/relay_server.hpp"

namespace sg::app {
namespace {

// `[IP:]PORT` as rtpengine's --listen-* take it; a bare port listens on loopback (closed by default).
std::optional<net::HostPort> parse_listen(const std::string& text) {
    if (const auto port = parse_uint<std::uint16_t>(text)) return net::HostPort{"127.0.0.1", *port};
    const auto hp = net::parse_host_port(text);
    if (!hp) return std::nullopt;
    return *hp;
}

// `ADDR` or `NAME/ADDR` (rtpengine's --interface; its `!ADVERTISED` form is not supported).
std::optional<relay::Interface> parse_interface(std::string_view text) {
    relay::Interface interface;
    if (const auto slash = text.find('/'); slash != std::string_view::npos) {
        interface.name = std::string(text.substr(0, slash));
        text.remove_prefix(slash + 1);
    }
    const auto address = relay::parse_ip(text);
    if (!address) return std::nullopt;
    interface.address = *address;
    return interface;
}

}  // namespace

std::optional<relay_io::RelayConfig> relay_config(const RelayFlags& flags) {
    relay_io::RelayConfig config;
    const auto interfaces =
        flags.interfaces.empty() ? std::vector<std::string>{"127.0.0.1"} : flags.interfaces;
    for (const auto& text : interfaces) {
        const auto interface = parse_interface(text);
        if (!interface) {
            std::cerr << "streamgate: relay: --interface " << text
                      << ": want ADDRESS or NAME/ADDRESS (an IP literal)\n";
            return std::nullopt;
        }
        config.settings.interfaces.push_back(*interface);
    }
    for (const auto& path : flags.listen_unix)
        config.listen_unix.emplace_back(path);
    const auto listen_ng = flags.listen_ng.empty() && flags.listen_udp.empty() && flags.listen_unix.empty() &&
                                   flags.listen_tcp_ng.empty()
                               ? std::vector<std::string>{"127.0.0.1:2223"}
                               : flags.listen_ng;
    for (const auto& text : listen_ng) {
        const auto hp = parse_listen(text);
        if (!hp) {
            std::cerr << "streamgate: relay: --listen-ng " << text << ": want [IP:]PORT\n";
            return std::nullopt;
        }
        config.listen_ng.push_back(*hp);
    }
    for (const auto& text : flags.listen_tcp_ng) {
        const auto hp = parse_listen(text);
        if (!hp) {
            std::cerr << "streamgate: relay: --listen-tcp-ng " << text << ": want [IP:]PORT\n";
            return std::nullopt;
        }
        config.listen_tcp_ng.push_back(*hp);
    }
    for (const auto& text : flags.listen_udp) {
        const auto hp = parse_listen(text);
        if (!hp) {
            std::cerr << "streamgate: relay: --listen-udp " << text << ": want [IP:]PORT\n";
            return std::nullopt;
        }
        config.listen_rtpproxy.push_back(*hp);
    }
    if (flags.port_min < 1024 || flags.port_max > 65535 || flags.port_max < flags.port_min + 3) {
        std::cerr << "streamgate: relay: --port-min/--port-max: want 1024 <= min, min + 3 <= max <= 65535\n";
        return std::nullopt;
    }
    config.settings.port_min = static_cast<std::uint16_t>(flags.port_min);
    config.settings.port_max = static_cast<std::uint16_t>(flags.port_max);
    config.settings.timeout = std::chrono::seconds(flags.timeout);
    config.settings.silent_timeout = std::chrono::seconds(flags.silent_timeout);
    config.settings.delete_delay = std::chrono::seconds(flags.delete_delay);
    config.settings.max_calls = flags.max_sessions;
    config.threads =
        flags.num_threads != 0 ? flags.num_threads : std::max(1U, std::thread::hardware_concurrency());
    if (flags.media_io == "io_uring") {
        config.media_io = relay_io::MediaIo::io_uring;
    } else if (flags.media_io == "epoll") {
        config.media_io = relay_io::MediaIo::epoll;
    } else if (flags.media_io != "auto") {
        std::cerr << "streamgate: relay: --media-io " << flags.media_io << ": want auto, io_uring or epoll\n";
        return std::nullopt;
    }
    if (flags.table < -1 || flags.table > 255) {
        std::cerr << "streamgate: relay: --table " << flags.table << ": want -1 (userspace) or 0-255\n";
        return std::nullopt;
    }
    config.table = flags.table;
    if (!flags.recording_dir.empty()) {
        std::error_code ec;
        if (!std::filesystem::is_directory(flags.recording_dir, ec)) {
            std::cerr << "streamgate: relay: --recording-dir " << flags.recording_dir
                      << ": not a directory\n";
            return std::nullopt;
        }
        config.recording_dir = flags.recording_dir;
    }
    if (!flags.prompt_dir.empty()) {
        std::error_code ec;
        if (!std::filesystem::is_directory(flags.prompt_dir, ec)) {
            std::cerr << "streamgate: relay: --prompt-dir " << flags.prompt_dir << ": not a directory\n";
            return std::nullopt;
        }
        config.prompt_dir = flags.prompt_dir;
    }
    if (!flags.admin.empty()) {
        const auto hp = net::parse_host_port(flags.admin);
        if (!hp) {
            std::cerr << "streamgate: relay: --admin " << flags.admin << ": " << hp.error() << '\n';
            return std::nullopt;
        }
        config.admin = *hp;
    }
    if (!flags.admin_token_file.empty()) {
        std::string error;
        auto token = read_admin_token(flags.admin_token_file, error);
        if (!token) {
            std::cerr << "streamgate: relay: --admin-token-file " << error << '\n';
            return std::nullopt;
        }
        config.admin_token = std::move(*token);
    }
    config.version = STREAMGATE_VERSION;
    return config;
}

Subcommand add_relay_command(CLI::App& app) {
    auto* relay =
        app.add_subcommand("relay",
                           "Media relay for SIP NAT traversal, controlled like rtpengine (ng protocol) "
                           "and rtpproxy");
    auto flags = std::make_shared<RelayFlags>();
    relay->add_option(
        "--interface,-i", flags->interfaces,
        "Media address ADDR or NAME/ADDR, one per family and name (repeatable; default 127.0.0.1)");
    relay->add_option("--listen-ng,-n", flags->listen_ng,
                      "ng control protocol on UDP [IP:]PORT (repeatable; default 127.0.0.1:2223 when no "
                      "other control listener is given)");
    relay->add_option("--listen-tcp-ng", flags->listen_tcp_ng,
                      "ng control protocol on TCP [IP:]PORT (repeatable)");
    relay->add_option("--listen-udp,-u", flags->listen_udp,
                      "rtpproxy control protocol on UDP [IP:]PORT (repeatable)");
    relay->add_option(
        "--listen-unix", flags->listen_unix,
        "rtpproxy control protocol on a unix stream socket PATH, as Kamailio's unix: sockets use "
        "(repeatable)");
    relay->add_option("--port-min,-m", flags->port_min, "Lowest media port (default 30000)");
    relay->add_option("--port-max,-M", flags->port_max, "Highest media port (default 40000)");
    relay->add_option("--timeout,-T", flags->timeout, "Seconds without media before a call ends (default 60)")
        ->check(CLI::Range(1U, 86400U));
    relay
        ->add_option("--silent-timeout,-s", flags->silent_timeout,
                     "Seconds without media before a call on hold ends (default 3600)")
        ->check(CLI::Range(1U, 86400U));
    relay
        ->add_option("--delete-delay,-d", flags->delete_delay,
                     "Seconds a deleted call keeps its ports, for late queries (default 30; 0: at once)")
        ->check(CLI::Range(0U, 3600U));
    relay
        ->add_option("--num-threads", flags->num_threads,
                     "Event loops, one thread each; calls are spread over them (default: one per core)")
        ->check(CLI::Range(0U, 256U));
    relay->add_option("--media-io", flags->media_io,
                      "How media sockets wait and move datagrams: io_uring (no system call per packet), "
                      "epoll (recvmmsg/sendmmsg), or auto: io_uring when the kernel allows it (default)");
    relay->add_option("--max-sessions", flags->max_sessions,
                      "Calls held at most; more offers fail (default 100000)");
    relay->add_option("--recording-dir", flags->recording_dir,
                      "Directory for call recordings (start recording, rtpproxy R): one pcap per call");
    relay->add_option("--admin-token-file", flags->admin_token_file,
                      "File holding the bearer token that lets the admin API change things (DELETE a call); "
                      "without it the API is read-only");
    relay->add_option("--prompt-dir", flags->prompt_dir,
                      "Directory of G.711 prompt files for play media (rtpproxy P); names may not leave it");
    relay->add_option("--admin", flags->admin, "Prometheus /metrics listener HOST:PORT (default: none)");
    add_log_level_option(*relay, flags->log_level);
    relay->add_option(
        "--config-file", flags->config_file,
        "TOML file whose [relay] table holds the same options (long names as keys); the command "
        "line wins");
    relay
        ->add_option(
            "--table,-t", flags->table,
            "Forward latched media in the kernel, in nftables table streamgate_N (rtpengine's kernel "
            "table N); -1: every packet through userspace (default -1)")
        ->check(CLI::Range(-1, 255));
    // rtpengine options that have no meaning here; accepted so its command lines work unchanged.
    relay->add_flag("--foreground,-f", flags->compatibility_flag,
                    "Ignored: the relay always runs in the foreground");
    relay->add_flag("--log-stderr,-E", flags->compatibility_flag, "Ignored: the relay always logs to stderr");
    const auto run = [flags, relay]() -> int {
        const auto read_file = [&](std::string& error) {
            return read_relay_config_file(flags->config_file, given_on_command_line(*relay), *flags, error);
        };
        if (!flags->config_file.empty() &&
            !read_config_file_or_complain("relay", flags->config_file, read_file))
            return 2;
        const auto config = relay_config(*flags);
        if (!config) return 2;
        net::ignore_sigpipe();
        start_logging(flags->log_level);
        return relay_io::run_relay(*config);
    };
    return {relay, run};
}

}  // namespace sg::app
