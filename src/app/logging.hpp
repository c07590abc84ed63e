#pragma once
// The log options every long-running subcommand shares: --log-level, --log-format, one line format each.

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <memory>
#include <string>

#include "app/log_format.hpp"

namespace sg::app {

// The chosen --log-format. One subcommand runs per process, so one setting serves them all.
inline std::string& log_format_setting() {
    static std::string format = "text";
    return format;
}

// --log-level LEVEL (checked against spdlog's level names) and --log-format text|json on `command`.
inline CLI::Option* add_log_level_option(CLI::App& command, std::string& level) {
    command
        .add_option("--log-format", log_format_setting(),
                    "text (default) or json: one JSON object per line, event lines' fields as keys")
        ->check(CLI::IsMember({"text", "json"}));
    return command.add_option("--log-level", level, "trace|debug|info|warn|error|critical|off")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
}

// Text: ISO-8601 time, level, message. JSON: see app/log_format.hpp. Then `level` (a name the option
// accepts).
inline void start_logging(const std::string& level) {
    if (log_format_setting() == "json") {
        spdlog::set_formatter(std::make_unique<JsonLogFormatter>());
    } else {
        spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    }
    spdlog::set_level(spdlog::level::from_str(level));
}

}  // namespace sg::app
