#pragma once
// One `streamgate` subcommand: its command-line definition and what runs when it was chosen. Each tool adds
// itself in its own *_cli.cpp, so main.cpp only lists them.

#include <CLI/CLI.hpp>
#include <functional>

namespace sg::app {

struct Subcommand {
    CLI::App* cli = nullptr;
    std::function<int()> run;  // returns the process exit status
};

Subcommand add_gateway_command(CLI::App& app);
Subcommand add_detect_command(CLI::App& app);
Subcommand add_testplayer_command(CLI::App& app);
Subcommand add_socksify_command(CLI::App& app);
Subcommand add_serve_command(CLI::App& app);
Subcommand add_relay_command(CLI::App& app);
Subcommand add_turn_command(CLI::App& app);
Subcommand add_mssr_command(CLI::App& app);
Subcommand add_check_config_command(CLI::App& app);
Subcommand add_punch_command(CLI::App& app);
Subcommand add_ctl_command(CLI::App& app);

}  // namespace sg::app
