// `streamgate testplayer`: N simulated RTSP players against one URL, directly or through a SOCKS5 gateway.

#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <memory>

#include "app/subcommand.hpp"
#include "loadtest/limits.hpp"
#include "loadtest/report.hpp"
#include "loadtest/runner.hpp"
#include "net/endpoint.hpp"
#include "net/relay.hpp"
#include "rtsp/url.hpp"
#include "tls/tls_context.hpp"

namespace sg::app {
namespace {

struct TestplayerFlags {
    std::string url;
    std::size_t players = 1;
    double ramp = 0;
    std::size_t threads = 1;
    std::string duration = "10";
    std::string transport = "udp";
    std::string socks;
    std::string socks_user;
    std::string json_file;
    double timeout_s = 10;
    double first_rtp_timeout_s = 5;
    int udp_buffer = 1 << 20;
    std::string tls_ca;
    bool tls_insecure = false;
    bool quiet = false;
};

std::optional<loadtest::RunConfig> run_config(const TestplayerFlags& flags) {
    loadtest::RunConfig config;
    auto& player = config.player;
    auto url = rtsp::parse_url(flags.url);
    if (!url || (url->scheme != "rtsp" && url->scheme != "rtspt" && url->scheme != "rtsps")) {
        std::cerr << "streamgate testplayer: " << flags.url << ": not an rtsp:// or rtsps:// URL\n";
        return std::nullopt;
    }
    if (url->is_tls()) {
        // One context for every player: loading the CAs once, not per connection.
        std::string error;
        player.connect.tls = tls::make_client_context({!flags.tls_insecure, flags.tls_ca}, error);
        if (!player.connect.tls) {
            std::cerr << "streamgate testplayer: " << error << '\n';
            return std::nullopt;
        }
    }
    player.url = *url;
    player.url_text = rtsp::to_string(*url);  // without credentials: they go into Authorization only
    // "http": interleaved, on the GET of an RTSP-over-HTTP tunnel; "ws": interleaved, in RTSP over WebSocket.
    player.tcp = flags.transport == "tcp" || flags.transport == "http" || flags.transport == "ws";
    player.connect.http_tunnel = flags.transport == "http";
    player.connect.websocket = flags.transport == "ws";
    if (flags.duration != "auto") {
        try {
            player.duration_s = std::stod(flags.duration);
        } catch (const std::exception&) {
            player.duration_s = -1;
        }
        if (!(*player.duration_s > 0)) {
            std::cerr << "streamgate testplayer: --duration wants seconds or 'auto'\n";
            return std::nullopt;
        }
    }
    if (!flags.socks.empty()) {
        const auto hp = net::parse_host_port(flags.socks);
        if (!hp) {
            std::cerr << "streamgate testplayer: --socks " << flags.socks << ": " << hp.error() << '\n';
            return std::nullopt;
        }
        player.connect.socks = *hp;
    }
    if (!flags.socks_user.empty()) {
        const auto colon = flags.socks_user.find(':');
        if (colon == std::string::npos) {
            std::cerr << "streamgate testplayer: --socks-user wants NAME:PASSWORD\n";
            return std::nullopt;
        }
        player.connect.socks_credentials = {flags.socks_user.substr(0, colon),
                                            flags.socks_user.substr(colon + 1)};
    }
    player.connect.timeout = std::chrono::milliseconds(static_cast<long>(flags.timeout_s * 1000));
    player.first_rtp_timeout = std::chrono::milliseconds(static_cast<long>(flags.first_rtp_timeout_s * 1000));
    player.udp_receive_buffer = flags.udp_buffer;
    config.players = flags.players;
    config.ramp_per_s = flags.ramp;
    config.threads = flags.threads;
    return config;
}

int run_testplayer(const TestplayerFlags& flags) {
    const auto config = run_config(flags);
    if (!config) return 2;
    net::ignore_sigpipe();  // a server resetting one connection must cost one player, not the run

    // Before the first player: a run that cannot fit should say why now, not as thousands of failures.
    const auto limits = loadtest::prepare_limits(config->players, config->player.tcp);
    for (const auto& note : limits.notes)
        std::cerr << "streamgate testplayer: " << note << '\n';
    for (const auto& problem : limits.problems)
        std::cerr << "streamgate testplayer: warning: " << problem << '\n';

    const auto outcome = loadtest::run_load(*config, flags.quiet ? nullptr : stderr);
    const auto summary = loadtest::summarize(outcome.results, outcome.elapsed_s);
    std::cout << loadtest::to_text(summary) << std::flush;
    if (!flags.json_file.empty()) {
        auto json = loadtest::to_json(summary);
        json["url"] = config->player.url_text;
        json["transport"] = flags.transport;
        json["socks"] = flags.socks;
        auto& players = json["players"] = nlohmann::json::array();
        for (const auto& result : outcome.results)
            players.push_back(loadtest::to_json(result));
        std::ofstream out(flags.json_file);
        out << json.dump(2) << '\n';
        if (!out) {
            std::cerr << "streamgate testplayer: cannot write " << flags.json_file << '\n';
            return 2;
        }
    }
    return summary.failed == 0 ? 0 : 1;
}

}  // namespace

Subcommand add_testplayer_command(CLI::App& app) {
    auto* cmd =
        app.add_subcommand("testplayer", "Simulated RTSP players: load and conformance test of a server");
    auto flags = std::make_shared<TestplayerFlags>();
    cmd->add_option("url", flags->url, "rtsp[s]://[user:password@]host[:port]/path")->required();
    cmd->add_option("-n,--players", flags->players, "Players to run concurrently (default 1)")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1000000}));
    cmd->add_option("--ramp", flags->ramp, "Players started per second (default: all at once)")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option(
        "--duration", flags->duration,
        "Seconds each player plays before TEARDOWN, or 'auto' for the SDP's a=range length (default 10)");
    cmd->add_option("--transport", flags->transport,
                    "Media delivery: udp, tcp (interleaved), http (interleaved in an RTSP-over-HTTP "
                    "tunnel) or ws (interleaved in RTSP over WebSocket, ONVIF); default udp")
        ->check(CLI::IsMember({"udp", "tcp", "http", "ws"}));
    cmd->add_option("--socks", flags->socks, "Reach the server through this SOCKS5 gateway, HOST:PORT");
    cmd->add_option("--socks-user", flags->socks_user, "RFC 1929 credentials for --socks, NAME:PASSWORD");
    cmd->add_option("--json", flags->json_file, "Write the results as JSON to this file");
    cmd->add_option("--timeout", flags->timeout_s, "Seconds to wait for a connection or a reply (default 10)")
        ->check(CLI::PositiveNumber);
    cmd->add_option("--first-rtp-timeout", flags->first_rtp_timeout_s,
                    "Seconds after PLAY before a player without RTP fails (default 5)")
        ->check(CLI::PositiveNumber);
    cmd->add_option("--udp-buffer", flags->udp_buffer,
                    "Receive buffer asked for each RTP socket, bytes (default 1048576; the kernel doubles it "
                    "and caps it at net.core.rmem_max)")
        ->check(CLI::Range(1024, 1 << 30));
    cmd->add_option("--threads", flags->threads,
                    "Threads (one event loop each) the players are spread over (default 1; use the cores "
                    "for thousands of players)")
        ->check(CLI::Range(std::size_t{1}, std::size_t{256}));
    cmd->add_option(
        "--tls-ca", flags->tls_ca,
        "rtsps://: PEM file of the CAs that may sign the server's certificate (default: the system's)");
    cmd->add_flag("--tls-insecure", flags->tls_insecure,
                  "rtsps://: do not check the server's certificate (lab servers with self-signed ones)");
    cmd->add_flag("-q,--quiet", flags->quiet, "No progress lines");
    return {cmd, [flags] { return run_testplayer(*flags); }};
}

}  // namespace sg::app
