// `streamgate serve DIR`: the RTSP/RTP origin server's command line.

#include <net/if.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <tuple>

#include "app/logging.hpp"
#include "app/subcommand.hpp"
#include "common/text.hpp"
#include "net/relay.hpp"
#include "server/server.hpp"
#include "websocket/handshake.hpp"

namespace sg::app {
namespace {

struct ServeFlags {
    std::string dir;
    std::vector<std::string> listen;
    std::vector<std::string> tls_listen;
    std::string tls_cert;
    std::string tls_key;
    bool loop = false;
    std::string rtp_ports = "20000-29999";
    unsigned session_timeout = 60;
    std::string log_level = "info";
    std::string admin;
    bool mp2t = false;
    unsigned threads = 0;
    std::uint32_t max_connections = 4096;
    std::uint32_t max_connections_per_client = 256;
    std::vector<std::string> multicast_ranges;
    unsigned multicast_ttl = 16;
    std::string multicast_ports = "30000-30999";
    std::string multicast_interface;
    std::vector<std::string> websocket_origins;
};

bool multicast_settings(const ServeFlags& flags, multicast::MulticastSettings& settings) {
    for (const auto& text : flags.multicast_ranges) {
        const auto range = multicast::MulticastRange::parse(text);
        if (!range) {
            std::cerr << "streamgate: serve: --multicast-range " << text << ": " << range.error() << '\n';
            return false;
        }
        auto& slot = range->network.is_v6() ? settings.v6 : settings.v4;
        if (slot) {
            std::cerr << "streamgate: serve: --multicast-range " << text << ": one range per family\n";
            return false;
        }
        slot = *range;
    }
    settings.ttl = static_cast<std::uint8_t>(flags.multicast_ttl);
    if (!parse_port_range(flags.multicast_ports, settings.port_first, settings.port_last)) {
        std::cerr << "streamgate: serve: --multicast-ports " << flags.multicast_ports
                  << ": want FIRST-LAST, 2+ ports\n";
        return false;
    }
    if (!flags.multicast_interface.empty() && ::if_nametoindex(flags.multicast_interface.c_str()) == 0) {
        std::cerr << "streamgate: serve: --multicast-interface " << flags.multicast_interface
                  << ": no such interface\n";
        return false;
    }
    settings.interface = flags.multicast_interface;
    return true;
}

std::optional<server::ServeConfig> serve_config(const ServeFlags& flags) {
    server::ServeConfig config;
    std::error_code ec;
    config.root = std::filesystem::canonical(flags.dir, ec);
    if (ec || !std::filesystem::is_directory(config.root)) {
        std::cerr << "streamgate: serve: " << flags.dir << ": not a directory\n";
        return std::nullopt;
    }
    // The default listener only when no listener at all is named: --tls-listen alone serves only RTSPS.
    const bool no_listener = flags.listen.empty() && flags.tls_listen.empty();
    const auto listen = no_listener ? std::vector<std::string>{"127.0.0.1:8554"} : flags.listen;
    for (const auto& [option, texts, out] :
         {std::tuple{"--listen", &listen, &config.listen},
          std::tuple{"--tls-listen", &flags.tls_listen, &config.tls_listen}}) {
        for (const auto& text : *texts) {
            const auto hp = net::parse_host_port(text);
            if (!hp) {
                std::cerr << "streamgate: serve: " << option << ' ' << text << ": " << hp.error() << '\n';
                return std::nullopt;
            }
            out->push_back(*hp);
        }
    }
    if (!config.tls_listen.empty() && (flags.tls_cert.empty() || flags.tls_key.empty())) {
        std::cerr << "streamgate: serve: --tls-listen needs --tls-cert and --tls-key\n";
        return std::nullopt;
    }
    for (const auto& origin : flags.websocket_origins) {
        if (const auto entry = websocket::parse_origin_entry(origin); !entry) {
            std::cerr << "streamgate: serve: --websocket-origin " << origin << ": " << entry.error() << '\n';
            return std::nullopt;
        }
    }
    config.websocket_origins = flags.websocket_origins;
    config.tls_certificate = flags.tls_cert;
    config.tls_key = flags.tls_key;
    if (!parse_port_range(flags.rtp_ports, config.rtp_port_first, config.rtp_port_last)) {
        std::cerr << "streamgate: serve: --rtp-ports " << flags.rtp_ports << ": want FIRST-LAST, 2+ ports\n";
        return std::nullopt;
    }
    if (!multicast_settings(flags, config.multicast)) return std::nullopt;
    if (!flags.admin.empty()) {
        const auto hp = net::parse_host_port(flags.admin);
        if (!hp) {
            std::cerr << "streamgate: serve: --admin " << flags.admin << ": " << hp.error() << '\n';
            return std::nullopt;
        }
        config.admin = *hp;
    }
    config.loop = flags.loop;
    config.mp2t = flags.mp2t;
    config.threads = flags.threads;
    config.max_connections = flags.max_connections;
    config.max_connections_per_client = flags.max_connections_per_client;
    config.session_timeout = std::chrono::seconds(flags.session_timeout);
    return config;
}

}  // namespace

Subcommand add_serve_command(CLI::App& app) {
    auto* serve = app.add_subcommand("serve", "Serve every media file under DIR over RTSP/RTP");
    auto flags = std::make_shared<ServeFlags>();
    serve->add_option("DIR", flags->dir, "Directory of media files (MP4, MKV, MPEG-TS...)")->required();
    serve->add_option("--listen", flags->listen,
                      "RTSP listener HOST:PORT or [IPV6]:PORT (repeatable; "
                      "default 127.0.0.1:8554)");
    serve->add_option("--tls-listen", flags->tls_listen,
                      "RTSPS (RTSP over TLS, rtsps://) listener HOST:PORT (repeatable; default: none)");
    serve->add_option("--tls-cert", flags->tls_cert, "PEM certificate chain of the RTSPS listeners");
    serve->add_option("--tls-key", flags->tls_key, "PEM private key of the RTSPS listeners");
    serve->add_flag("--loop", flags->loop, "Restart files seamlessly at their end (a live-like source)");
    serve->add_flag("--mp2t", flags->mp2t,
                    "Send every file as one MPEG-TS track (RFC 2250), even when its codecs have RTP formats");
    serve->add_option("--rtp-ports", flags->rtp_ports,
                      "UDP port range for RTP/RTCP pairs (default 20000-29999)");
    serve
        ->add_option("--session-timeout", flags->session_timeout,
                     "Seconds without RTCP or requests before a session is dropped (default 60)")
        ->check(CLI::Range(1U, 3600U));
    serve
        ->add_option("--threads", flags->threads,
                     "Event loops, one thread each; connections are spread over them (default: one per core)")
        ->check(CLI::Range(0U, 256U));
    serve->add_option("--max-connections", flags->max_connections,
                      "Open RTSP connections at most; more are answered 503 and closed (0: no limit; "
                      "default 4096)");
    serve->add_option("--max-connections-per-client", flags->max_connections_per_client,
                      "Open RTSP connections from one client address at most (0: no limit; default 256)");
    serve->add_option("--multicast-range", flags->multicast_ranges,
                      "Multicast group prefix for players asking for multicast, one IPv4 and/or one IPv6 "
                      "(e.g. 239.255.42.0/24, ff15::42:0/112; default: none, multicast refused with 461)");
    serve
        ->add_option("--multicast-ttl", flags->multicast_ttl,
                     "TTL / hop limit of multicast packets, also announced as ttl= (default 16)")
        ->check(CLI::Range(1U, 255U));
    serve->add_option("--multicast-ports", flags->multicast_ports,
                      "UDP port range of the groups, 2 per track and group (default 30000-30999)");
    serve->add_option("--multicast-interface", flags->multicast_interface,
                      "Interface multicast leaves by (IP_MULTICAST_IF; default: the route to the group)");
    serve->add_option("--websocket-origin", flags->websocket_origins,
                      "Origin (scheme://host[:port], null or *) whose web pages may play over RTSP over "
                      "WebSocket (repeatable; default: none, only clients sending no Origin)");
    serve->add_option("--admin", flags->admin, "Prometheus /metrics listener HOST:PORT (default: none)");
    add_log_level_option(*serve, flags->log_level);
    const auto run = [flags]() -> int {
        const auto config = serve_config(*flags);
        if (!config) return 2;
        net::ignore_sigpipe();  // a viewer vanishing mid-write must cost one session, not the process
        start_logging(flags->log_level);
        return server::run_serve(*config);
    };
    return {serve, run};
}

}  // namespace sg::app
