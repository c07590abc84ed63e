// `streamgate punch`: UDP hole punching through a rendezvous, with TURN as the fallback
// (docs/nat-traversal.md).

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <memory>

#include "app/logging.hpp"
#include "app/subcommand.hpp"
#include "punch/wire.hpp"
#include "punch_io/punch_client.hpp"

namespace sg::app {
namespace {

struct PunchFlags {
    std::string rendezvous;
    std::string id;
    std::string peer;
    std::string forward;
    std::string listen;
    std::string turn;
    std::string turn_user;
    std::string rendezvous_secret;
    unsigned deadline_ms = 3000;
    std::string family = "auto";
    bool json = false;
    std::string log_level = "info";
};

bool host_port(const std::string& option, const std::string& text, net::HostPort& out) {
    const auto hp = net::parse_host_port(text);
    if (!hp) {
        std::cerr << "streamgate: punch: " << option << ' ' << text << ": " << hp.error() << '\n';
        return false;
    }
    out = *hp;
    return true;
}

std::optional<punch::PunchClientConfig> punch_config(const PunchFlags& flags) {
    punch::PunchClientConfig config;
    if (!punch::valid_name(flags.id) || !punch::valid_name(flags.peer) || flags.id == flags.peer) {
        std::cerr
            << "streamgate: punch: --id and --peer: two different names of 1-64 characters [A-Za-z0-9._-]\n";
        return std::nullopt;
    }
    config.id = flags.id;
    config.peer = flags.peer;
    if (!host_port("--rendezvous", flags.rendezvous, config.rendezvous)) return std::nullopt;
    if (!host_port("--forward", flags.forward, config.forward)) return std::nullopt;
    if (!flags.listen.empty() && !host_port("--listen", flags.listen, config.listen.emplace()))
        return std::nullopt;
    if (!flags.turn.empty()) {
        if (!host_port("--turn", flags.turn, config.turn.emplace())) return std::nullopt;
        const auto colon = flags.turn_user.find(':');
        if (colon == std::string::npos || colon == 0) {
            std::cerr << "streamgate: punch: --turn needs --turn-user NAME:PASSWORD\n";
            return std::nullopt;
        }
        config.turn_user = flags.turn_user.substr(0, colon);
        config.turn_password = flags.turn_user.substr(colon + 1);
    }
    config.rendezvous_secret = flags.rendezvous_secret;
    config.deadline = std::chrono::milliseconds{flags.deadline_ms};
    config.family = flags.family == "4" ? 4 : flags.family == "6" ? 6 : 0;
    config.json = flags.json;
    return config;
}

}  // namespace

Subcommand add_punch_command(CLI::App& app) {
    auto* punch = app.add_subcommand(
        "punch",
        "UDP hole punching through a rendezvous (streamgate turn --rendezvous), TURN as the fallback");
    auto flags = std::make_shared<PunchFlags>();
    punch->add_option("--rendezvous", flags->rendezvous, "Rendezvous server HOST:PORT")->required();
    punch->add_option("--id", flags->id, "This side's name at the rendezvous")->required();
    punch->add_option("--peer", flags->peer, "The other side's name at the rendezvous")->required();
    punch->add_option("--forward", flags->forward, "Where the peer's datagrams are delivered, HOST:PORT")
        ->required();
    punch->add_option(
        "--listen", flags->listen,
        "Local UDP address whose datagrams go to the peer (default: an ephemeral loopback port)");
    punch->add_option("--rendezvous-secret", flags->rendezvous_secret,
                      "Secret shared with the rendezvous and the peer (streamgate turn --rendezvous-secret): "
                      "signs registrations and probes; unsigned answers and probes are ignored");
    punch->add_option("--turn", flags->turn, "TURN server HOST:PORT to relay through when punching fails");
    punch->add_option("--turn-user", flags->turn_user, "TURN long-term credentials NAME:PASSWORD");
    punch
        ->add_option("--deadline", flags->deadline_ms,
                     "Milliseconds of punching before falling back to TURN (default 3000)")
        ->check(CLI::Range(100U, 600000U));
    punch
        ->add_option("--family", flags->family,
                     "Address family to punch over: 4, 6, or auto (the first address --rendezvous resolves "
                     "to; default)")
        ->check(CLI::IsMember({"4", "6", "auto"}));
    punch->add_flag("--json", flags->json, "Report the path as JSON objects, one per line");
    add_log_level_option(*punch, flags->log_level);
    const auto run = [flags]() -> int {
        const auto config = punch_config(*flags);
        if (!config) return 2;
        // stdout carries the path reports (JSON with --json), so a program can read them; logs go to stderr.
        spdlog::set_default_logger(spdlog::stderr_color_mt("punch"));
        start_logging(flags->log_level);
        return punch::run_punch(*config);
    };
    return {punch, run};
}

}  // namespace sg::app
