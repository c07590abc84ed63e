#include "app/config.hpp"

#include <fmt/format.h>

#include <toml++/toml.h>
#include <fstream>
#include <set>
#include <sstream>

namespace sg::app {
namespace {

// Checks that a table holds only known keys; returns the first unknown one.
std::optional<std::string> unknown_key(const toml::table& table, const std::set<std::string_view>& known) {
    for (const auto& [key, value] : table) {
        if (!known.contains(key.str())) return std::string(key.str());
    }
    return std::nullopt;
}

bool read_seconds(const toml::table& table, std::string_view key, std::chrono::seconds& out,
                  std::string& error) {
    const auto* node = table.get(key);
    if (node == nullptr) return true;
    const auto value = node->value<std::int64_t>();
    if (!value || *value <= 0 || *value > std::int64_t{86400} * 365) {
        error = fmt::format("{}: must be a positive number of seconds", key);
        return false;
    }
    out = std::chrono::seconds{*value};
    return true;
}

bool read_gateway(const toml::table& gw, GatewayConfig& config, std::string& error) {
    static const std::set<std::string_view> known{
        "socks", "allow", "handshake_timeout_s", "connect_timeout_s", "idle_timeout_s", "drain_timeout_s"};
    if (auto key = unknown_key(gw, known)) {
        error = fmt::format("[gateway]: unknown key '{}'", *key);
        return false;
    }
    if (const auto* socks = gw.get("socks")) {
        const auto* list = socks->as_array();
        if (list == nullptr) {
            error = "[gateway] socks: must be an array of \"HOST:PORT\" strings";
            return false;
        }
        for (const auto& item : *list) {
            const auto text = item.value<std::string>();
            const auto hp =
                text ? net::parse_host_port(*text) : sg::Result<net::HostPort>(sg::fail("not a string"));
            if (!hp) {
                error = fmt::format("[gateway] socks: '{}': {}", text.value_or("?"), hp.error());
                return false;
            }
            config.socks_listeners.push_back(*hp);
        }
    }
    if (const auto* allow = gw.get("allow")) {
        const auto* list = allow->as_array();
        if (list == nullptr) {
            error = "[gateway] allow: must be an array of CIDR strings";
            return false;
        }
        for (const auto& item : *list) {
            const auto text = item.value<std::string>();
            const auto cidr =
                text ? net::Cidr::parse(*text) : sg::Result<net::Cidr>(sg::fail("not a string"));
            if (!cidr) {
                error = fmt::format("[gateway] allow: '{}': {}", text.value_or("?"), cidr.error());
                return false;
            }
            config.allow.push_back(*cidr);
        }
    }
    return read_seconds(gw, "handshake_timeout_s", config.handshake_timeout, error) &&
           read_seconds(gw, "connect_timeout_s", config.connect_timeout, error) &&
           read_seconds(gw, "idle_timeout_s", config.idle_timeout, error) &&
           read_seconds(gw, "drain_timeout_s", config.drain_timeout, error);
}

bool read_log(const toml::table& log, GatewayConfig& config, std::string& error) {
    static const std::set<std::string_view> known{"level"};
    if (auto key = unknown_key(log, known)) {
        error = fmt::format("[log]: unknown key '{}'", *key);
        return false;
    }
    static const std::set<std::string_view> levels{"trace", "debug",    "info", "warn",
                                                   "error", "critical", "off"};
    if (const auto level = log["level"].value<std::string>()) {
        if (!levels.contains(*level)) {
            error = fmt::format(
                "[log] level: '{}' is not one of trace, debug, info, warn, error, critical, off", *level);
            return false;
        }
        config.log_level = *level;
    }
    return true;
}

}  // namespace

std::optional<GatewayConfig> parse_config(std::string_view toml_text, std::string_view source,
                                          std::string& error) {
    toml::table root;
    try {
        root = toml::parse(toml_text, source);
    } catch (const toml::parse_error& e) {
        const auto& where = e.source().begin;
        error = fmt::format("{}:{}:{}: {}", source, where.line, where.column, e.description());
        return std::nullopt;
    }
    GatewayConfig config;
    if (auto key = unknown_key(root, {"gateway", "log"})) {
        error = fmt::format("{}: unknown section '{}'", source, *key);
        return std::nullopt;
    }
    const auto section = [&](std::string_view name) -> const toml::table* { return root[name].as_table(); };
    std::string detail;
    if (const auto* gw = section("gateway"); gw != nullptr && !read_gateway(*gw, config, detail)) {
        error = fmt::format("{}: {}", source, detail);
        return std::nullopt;
    }
    if (const auto* log = section("log"); log != nullptr && !read_log(*log, config, detail)) {
        error = fmt::format("{}: {}", source, detail);
        return std::nullopt;
    }
    return config;
}

std::optional<GatewayConfig> load_config_file(const std::string& path, std::string& error) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        error = fmt::format("cannot read config file '{}'", path);
        return std::nullopt;
    }
    std::ostringstream text;
    text << in.rdbuf();
    return parse_config(text.str(), path, error);
}

}  // namespace sg::app
