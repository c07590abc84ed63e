// streamgate: one binary, one subcommand per tool.

#include <CLI/CLI.hpp>
#include <iostream>
#include <vector>

#include "app/subcommand.hpp"

namespace {

int run(int argc, char** argv) {
    CLI::App app{"streamgate: a streaming-media gateway across IPv4 and IPv6 (SOCKS5, RTSP, RTP)",
                 "streamgate"};
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string("streamgate ") + STREAMGATE_VERSION);

    // In the order `streamgate --help` lists them.
    std::vector<sg::app::Subcommand> subcommands;
    subcommands.push_back(sg::app::add_gateway_command(app));
    subcommands.push_back(sg::app::add_serve_command(app));
    subcommands.push_back(sg::app::add_testplayer_command(app));
    subcommands.push_back(sg::app::add_socksify_command(app));
    subcommands.push_back(sg::app::add_detect_command(app));
    subcommands.push_back(sg::app::add_relay_command(app));
    subcommands.push_back(sg::app::add_turn_command(app));
    subcommands.push_back(sg::app::add_punch_command(app));
    subcommands.push_back(sg::app::add_mssr_command(app));
    subcommands.push_back(sg::app::add_ctl_command(app));
    subcommands.push_back(sg::app::add_check_config_command(app));

    CLI11_PARSE(app, argc, argv);
    for (const auto& subcommand : subcommands)
        if (subcommand.cli->parsed()) return subcommand.run();
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    // Start-up code (CLI11, toml++, std::filesystem) reports some failures by throwing; the data plane does
    // not. Whatever escapes becomes a message and an exit status, never std::terminate.
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::cerr << "streamgate: " << e.what() << '\n';
        return 1;
    }
}
