#pragma once
// The log options every long-running subcommand shares: one --log-level option, one line format.

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <string>

namespace sg::app {

// --log-level LEVEL on `command`, checked against spdlog's level names.
inline CLI::Option* add_log_level_option(CLI::App& command, std::string& level) {
    return command.add_option("--log-level", level, "trace|debug|info|warn|error|critical|off")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
}

// ISO-8601 time, level, message; then `level` (one of the names the option accepts).
inline void start_logging(const std::string& level) {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    spdlog::set_level(spdlog::level::from_str(level));
}

}  // namespace sg::app
