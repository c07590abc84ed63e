// `streamgate check-config FILE...`: validates configuration files without starting anything (like
// `nginx -t`). A file with a [relay] table is a relay file (`streamgate relay --config-file`), one with a
// [turn] table a turn file (`streamgate turn --config-file`); any other is a gateway file (`streamgate
// gateway --config`). Every problem is named with its line; the exit status is 0 when every file is valid, 1
// otherwise.

#include <toml++/toml.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "app/config.hpp"
#include "app/relay_cli.hpp"
#include "app/relay_config_file.hpp"
#include "app/subcommand.hpp"
#include "app/turn_cli.hpp"

namespace sg::app {
namespace {

// A relay file: its [relay] table read as the relay reads it, then the relay's own checks.
bool check_relay_file(const std::string& path) {
    RelayFlags flags;
    std::string error;
    if (!read_relay_config_file(
            path, [](std::string_view) { return false; }, flags, error)) {
        std::cerr << path << ": " << error << '\n';
        return false;
    }
    if (!relay_config(flags)) return false;  // it said why
    std::cout << path << ": ok (relay: media ports " << flags.port_min << "-" << flags.port_max << ", "
              << (flags.interfaces.empty() ? 1 : flags.interfaces.size()) << " interface addresses)\n";
    return true;
}

// A turn file: its [turn] table read as the server reads it, then the server's own checks.
bool check_turn_file(const std::string& path) {
    TurnFlags flags;
    std::string error;
    if (!read_turn_config_file(
            path, [](std::string_view) { return false; }, flags, error)) {
        std::cerr << path << ": " << error << '\n';
        return false;
    }
    const auto config = turn_config(flags);
    if (!config) return false;  // it said why
    std::cout << path << ": ok (turn: " << config->listening_ips.size() << " listening addresses, "
              << config->options.credentials.users.size() << " users, relayed ports " << flags.min_port << "-"
              << flags.max_port << ")\n";
    return true;
}

bool check_gateway_file(const std::string& path) {
    std::string error;
    const auto config = load_config_file(path, error);
    if (!config) {
        std::cerr << error << '\n';
        return false;
    }
    std::cout << path << ": ok (gateway: " << config->socks_listeners.size() << " SOCKS listeners, "
              << config->rtsp_listeners.size() << " RTSP listeners, " << config->rtsp_mounts.size()
              << " mounts, " << config->rules.size() << " rules)\n";
    return true;
}

bool check_file(const std::string& path) {
    toml::table root;
    try {
        root = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
        // load_config_file words an unreadable or malformed file with its line and column.
        return check_gateway_file(path);
    }
    if (root.contains("relay")) return check_relay_file(path);
    if (root.contains("turn")) return check_turn_file(path);
    return check_gateway_file(path);
}

}  // namespace

Subcommand add_check_config_command(CLI::App& app) {
    auto* check = app.add_subcommand(
        "check-config",
        "Validate configuration files (gateway, relay with a [relay] table, turn with a [turn] table) "
        "without starting");
    auto files = std::make_shared<std::vector<std::string>>();
    check->add_option("FILE", *files, "Configuration files to check")->required();
    const auto run = [files]() -> int {
        bool ok = true;
        for (const auto& path : *files)
            ok = check_file(path) && ok;
        return ok ? 0 : 1;
    };
    return {check, run};
}

}  // namespace sg::app
