#include "app/config.hpp"

#include <fmt/format.h>

#include <toml++/toml.h>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "common/text.hpp"
#include "rtsp/url.hpp"

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

bool read_count(const toml::table& table, std::string_view key, std::uint32_t& out, std::string& error) {
    const auto* node = table.get(key);
    if (node == nullptr) return true;
    const auto value = node->value<std::int64_t>();
    if (!value || *value < 0 || *value > std::numeric_limits<std::uint32_t>::max()) {
        error =
            fmt::format("{}: must be a number from 0 to {}", key, std::numeric_limits<std::uint32_t>::max());
        return false;
    }
    out = static_cast<std::uint32_t>(*value);
    return true;
}

// Reads an array of strings, turning each into a T through `parse` (which returns an sg::Result).
template <class T, class Parse>
bool read_list(const toml::node* node, std::string_view where, Parse parse, std::vector<T>& out,
               std::string& error) {
    if (node == nullptr) return true;
    const auto* list = node->as_array();
    if (list == nullptr) {
        error = fmt::format("{}: must be an array of strings", where);
        return false;
    }
    for (const auto& item : *list) {
        const auto text = item.value<std::string>();
        if (!text) {
            error = fmt::format("{}: must be an array of strings", where);
            return false;
        }
        auto value = parse(*text);
        if (!value) {
            error = fmt::format("{}: '{}': {}", where, *text, value.error());
            return false;
        }
        out.push_back(std::move(*value));
    }
    return true;
}

sg::Result<std::string> any_text(std::string_view text) {
    return std::string(text);
}

// `to = [...]` mixes networks and domain suffixes: whatever parses as CIDR is a network.
bool read_rule_targets(const toml::node* node, socks::Rule& rule, std::string& error) {
    std::vector<std::string> targets;
    if (!read_list(node, "[[rule]] to", any_text, targets, error)) return false;
    for (const auto& target : targets) {
        if (auto cidr = net::Cidr::parse(target)) {
            rule.to_networks.push_back(*cidr);
        } else if (auto domain = socks::parse_domain_pattern(target)) {
            rule.to_domains.push_back(*domain);
        } else {
            error = fmt::format("[[rule]] to: '{}' is neither a CIDR network nor a domain suffix", target);
            return false;
        }
    }
    return true;
}

bool read_rule(const toml::table& table, socks::Rule& rule, std::string& error) {
    static const std::set<std::string_view> known{"name", "action", "clients", "commands",
                                                  "to",   "ports",  "users"};
    if (auto key = unknown_key(table, known)) {
        error = fmt::format("[[rule]]: unknown key '{}'", *key);
        return false;
    }
    const auto name = table["name"].value<std::string>();
    const auto action_text = table["action"].value<std::string>();
    if (!name || !action_text) {
        error = "[[rule]]: needs name = \"...\" and action = \"allow\" or \"deny\"";
        return false;
    }
    rule.name = *name;
    const auto action = socks::parse_action(*action_text);
    if (!action) {
        error = fmt::format("[[rule]] '{}' action: {}", *name, action.error());
        return false;
    }
    rule.action = *action;
    return read_list(table.get("clients"), "[[rule]] clients", net::Cidr::parse, rule.clients, error) &&
           read_list(table.get("commands"), "[[rule]] commands", socks::parse_command, rule.commands,
                     error) &&
           read_rule_targets(table.get("to"), rule, error) &&
           read_list(table.get("ports"), "[[rule]] ports", socks::parse_port_range, rule.to_ports, error) &&
           read_list(table.get("users"), "[[rule]] users", any_text, rule.users, error);
}

bool read_rules(const toml::node* node, GatewayConfig& config, std::string& error) {
    if (node == nullptr) return true;
    const auto* tables = node->as_array();
    if (tables == nullptr || !tables->is_array_of_tables()) {
        error = "rule: must be written as [[rule]] tables";
        return false;
    }
    for (const auto& item : *tables) {
        socks::Rule rule;
        if (!read_rule(*item.as_table(), rule, error)) return false;
        config.rules.push_back(std::move(rule));
    }
    // Validates names (unique, printable), ranges and patterns the same way the server will.
    const auto checked = socks::RuleSet::create(config.rules);
    if (!checked) {
        error = fmt::format("[[rule]]: {}", checked.error());
        return false;
    }
    return true;
}

bool read_gateway(const toml::table& gw, GatewayConfig& config, std::string& error) {
    static const std::set<std::string_view> known{"socks",
                                                  "allow",
                                                  "admin",
                                                  "admin_token_file",
                                                  "users",
                                                  "family_policy",
                                                  "handshake_timeout_s",
                                                  "connect_timeout_s",
                                                  "idle_timeout_s",
                                                  "drain_timeout_s",
                                                  "max_sessions",
                                                  "max_sessions_per_client",
                                                  "max_udp_associations"};
    if (auto key = unknown_key(gw, known)) {
        error = fmt::format("[gateway]: unknown key '{}'", *key);
        return false;
    }
    if (!read_list(gw.get("socks"), "[gateway] socks", net::parse_host_port, config.socks_listeners, error)) {
        return false;
    }
    if (const auto* admin = gw.get("admin")) {
        const auto text = admin->value<std::string>();
        if (!text) {
            error = "[gateway] admin: must be a \"HOST:PORT\" string (\"\" to turn it off)";
            return false;
        }
        if (text->empty()) {
            config.admin.reset();
        } else {
            const auto hp = net::parse_host_port(*text);
            if (!hp) {
                error = fmt::format("[gateway] admin: '{}': {}", *text, hp.error());
                return false;
            }
            config.admin = *hp;
        }
    }
    if (const auto* token_file = gw.get("admin_token_file")) {
        const auto text = token_file->value<std::string>();
        if (!text) {
            error = "[gateway] admin_token_file: must be a file name string";
            return false;
        }
        config.admin_token_file = *text;
    }
    if (const auto* policy = gw.get("family_policy")) {
        const auto text = policy->value<std::string>();
        const auto parsed =
            text ? socks::parse_family_policy(*text) : sg::Result<socks::FamilyPolicy>(sg::fail(""));
        if (!parsed) {
            error =
                "[gateway] family_policy: must be \"any\", \"ipv4-only\", \"ipv6-only\" or \"prefer-ipv4\"";
            return false;
        }
        config.family_policy = *parsed;
    }
    std::vector<std::string> users;
    if (!read_list(gw.get("users"), "[gateway] users", any_text, users, error)) return false;
    for (const auto& spec : users) {
        if (const auto added = config.users.add_spec(spec); !added) {
            // Never echo the spec: it holds a password.
            error = fmt::format("[gateway] users: an entry is invalid: {}", added.error());
            return false;
        }
    }
    if (!read_list(gw.get("allow"), "[gateway] allow", net::Cidr::parse, config.allow, error)) return false;
    return read_seconds(gw, "handshake_timeout_s", config.handshake_timeout, error) &&
           read_seconds(gw, "connect_timeout_s", config.connect_timeout, error) &&
           read_seconds(gw, "idle_timeout_s", config.idle_timeout, error) &&
           read_seconds(gw, "drain_timeout_s", config.drain_timeout, error) &&
           read_count(gw, "max_sessions", config.max_sessions, error) &&
           read_count(gw, "max_sessions_per_client", config.max_sessions_per_client, error) &&
           read_count(gw, "max_udp_associations", config.max_udp_associations, error);
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

bool read_alg(const toml::table& alg, GatewayConfig& config, std::string& error) {
    static const std::set<std::string_view> known{"enabled", "ports", "session_timeout_s"};
    if (auto key = unknown_key(alg, known)) {
        error = fmt::format("[alg]: unknown key '{}'", *key);
        return false;
    }
    if (const auto* enabled = alg.get("enabled")) {
        // as_boolean(), not value<bool>(): toml++ would convert an integer.
        const auto* value = enabled->as_boolean();
        if (value == nullptr) {
            error = "[alg] enabled: must be true or false";
            return false;
        }
        config.alg_enabled = value->get();
    }
    if (const auto* ports = alg.get("ports")) {
        const auto text = ports->value<std::string>();
        const auto range = text ? parse_alg_ports(*text) : parse_alg_ports("");
        if (!range) {
            error = fmt::format("[alg] ports: must be a \"FIRST-LAST\" string: {}", range.error());
            return false;
        }
        config.alg_port_first = range->first;
        config.alg_port_last = range->second;
    }
    return read_seconds(alg, "session_timeout_s", config.alg_session_timeout, error);
}

bool read_mount(const toml::table& table, GatewayConfig& config, std::string& error) {
    static const std::set<std::string_view> known{"name", "url",      "transport",
                                                  "user", "password", "always_on"};
    if (auto key = unknown_key(table, known)) {
        error = fmt::format("[[rtsp.mount]]: unknown key '{}'", *key);
        return false;
    }
    RtspMountConfig mount;
    const auto name = table["name"].value<std::string>();
    const auto url = table["url"].value<std::string>();
    if (!name || !url) {
        error = "[[rtsp.mount]]: needs name = \"...\" and url = \"rtsp://...\"";
        return false;
    }
    mount.name = *name;
    mount.url = *url;
    for (const auto& [key, field] : {std::pair{"transport", &mount.transport}, std::pair{"user", &mount.user},
                                     std::pair{"password", &mount.password}}) {
        if (const auto* node = table.get(key)) {
            const auto text = node->value<std::string>();
            if (!text) {
                error = fmt::format("[[rtsp.mount]] '{}' {}: must be a string", mount.name, key);
                return false;
            }
            *field = *text;
        }
    }
    if (const auto* always_on = table.get("always_on")) {
        const auto* value = always_on->as_boolean();
        if (value == nullptr) {
            error = fmt::format("[[rtsp.mount]] '{}' always_on: must be true or false", mount.name);
            return false;
        }
        mount.always_on = value->get();
    }
    auto checked = check_mount(std::move(mount));
    if (!checked) {
        error = fmt::format("[[rtsp.mount]] '{}': {}", *name, checked.error());
        return false;
    }
    config.rtsp_mounts.push_back(std::move(*checked));
    return true;
}

// [rtsp] users (Digest accounts of players, "name:password") and realm.
bool read_rtsp_users(const toml::table& rtsp, GatewayConfig& config, std::string& error) {
    std::vector<std::string> users;
    if (!read_list(rtsp.get("users"), "[rtsp] users", any_text, users, error)) return false;
    for (const auto& spec : users) {
        auto account = add_rtsp_user(spec, config.rtsp_users);
        if (!account) {
            // Never echo the spec: it holds a password.
            error = fmt::format("[rtsp] users: an entry is invalid: {}", account.error());
            return false;
        }
    }
    if (const auto* realm = rtsp.get("realm")) {
        const auto text = realm->value<std::string>();
        if (!text || text->empty() || text->find_first_of("\"\\") != std::string::npos) {
            error = "[rtsp] realm: must be a non-empty string without '\"' or '\\'";
            return false;
        }
        config.rtsp_realm = *text;
    }
    return true;
}

bool read_rtsp(const toml::table& rtsp, GatewayConfig& config, std::string& error) {
    static const std::set<std::string_view> known{
        "listen",          "session_timeout_s",         "mount", "users", "realm",
        "max_connections", "max_connections_per_client"};
    if (auto key = unknown_key(rtsp, known)) {
        error = fmt::format("[rtsp]: unknown key '{}'", *key);
        return false;
    }
    if (!read_list(rtsp.get("listen"), "[rtsp] listen", net::parse_host_port, config.rtsp_listeners, error) ||
        !read_seconds(rtsp, "session_timeout_s", config.rtsp_session_timeout, error) ||
        !read_count(rtsp, "max_connections", config.rtsp_max_connections, error) ||
        !read_count(rtsp, "max_connections_per_client", config.rtsp_max_connections_per_client, error)) {
        return false;
    }
    if (!read_rtsp_users(rtsp, config, error)) return false;
    if (const auto* node = rtsp.get("mount")) {
        const auto* tables = node->as_array();
        if (tables == nullptr || !tables->is_array_of_tables()) {
            error = "rtsp.mount: must be written as [[rtsp.mount]] tables";
            return false;
        }
        for (const auto& item : *tables)
            if (!read_mount(*item.as_table(), config, error)) return false;
    }
    std::set<std::string_view> names;
    for (const auto& mount : config.rtsp_mounts) {
        if (!names.insert(mount.name).second) {
            error = fmt::format("[[rtsp.mount]]: the name '{}' is used twice", mount.name);
            return false;
        }
    }
    return true;
}

}  // namespace

sg::Result<bool> add_rtsp_user(std::string_view spec,
                               std::vector<std::pair<std::string, std::string>>& users) {
    auto account = socks::parse_user_spec(spec);
    if (!account) return sg::fail(account.error());
    for (const auto& [name, password] : users)
        if (name == account->first) return sg::fail("a user name is given twice");
    users.push_back(std::move(*account));
    return true;
}

sg::Result<RtspMountConfig> check_mount(RtspMountConfig mount) {
    if (mount.name.empty() || mount.name.size() > 64)
        return sg::fail("the name must have 1 to 64 characters");
    for (const char c : mount.name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        c == '-' || c == '_' || c == '.';
        if (!ok) return sg::fail("the name may hold letters, digits, '-', '_' and '.' only");
    }
    // Track URLs are NAME/trackN: a mount named like a track would be ambiguous.
    if (mount.name.starts_with("track")) return sg::fail("the name must not start with 'track'");
    const auto url = rtsp::parse_url(mount.url);
    if (!url || url->scheme != "rtsp") return sg::fail("url must be an rtsp:// URL");
    if (mount.transport != "udp" && mount.transport != "tcp" && mount.transport != "auto")
        return sg::fail("transport must be \"udp\", \"tcp\" or \"auto\"");
    if (!mount.password.empty() && mount.user.empty()) return sg::fail("password without user");
    return mount;
}

sg::Result<RtspMountConfig> parse_mount_spec(std::string_view text) {
    const auto equals = text.find('=');
    if (equals == std::string_view::npos) return sg::fail("expected NAME=URL");
    RtspMountConfig mount;
    mount.name = std::string(text.substr(0, equals));
    mount.url = std::string(text.substr(equals + 1));
    return check_mount(std::move(mount));
}

sg::Result<std::pair<std::uint16_t, std::uint16_t>> parse_alg_ports(std::string_view text) {
    const auto dash = text.find('-');
    if (dash == std::string_view::npos) return sg::fail("expected FIRST-LAST");
    const auto first = parse_uint<std::uint16_t>(text.substr(0, dash));
    const auto last = parse_uint<std::uint16_t>(text.substr(dash + 1));
    if (!first || !last || *first == 0) return sg::fail("ports must be numbers from 1 to 65535");
    // At least one even RTP port with its odd RTCP port inside the range.
    const std::uint32_t first_even = *first + (*first % 2U);
    if (first_even + 1 > *last) return sg::fail("the range holds no even/odd RTP/RTCP port pair");
    return std::pair<std::uint16_t, std::uint16_t>{*first, *last};
}

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
    if (auto key = unknown_key(root, {"gateway", "log", "rule", "alg", "rtsp"})) {
        error = fmt::format("{}: unknown section '{}'", source, *key);
        return std::nullopt;
    }
    const auto section = [&](std::string_view name) -> const toml::table* { return root[name].as_table(); };
    std::string detail;
    if (const auto* gw = section("gateway"); gw != nullptr && !read_gateway(*gw, config, detail)) {
        error = fmt::format("{}: {}", source, detail);
        return std::nullopt;
    }
    if (!read_rules(root.get("rule"), config, detail)) {
        error = fmt::format("{}: {}", source, detail);
        return std::nullopt;
    }
    if (const auto* log = section("log"); log != nullptr && !read_log(*log, config, detail)) {
        error = fmt::format("{}: {}", source, detail);
        return std::nullopt;
    }
    if (const auto* alg = section("alg"); alg != nullptr && !read_alg(*alg, config, detail)) {
        error = fmt::format("{}: {}", source, detail);
        return std::nullopt;
    }
    if (const auto* rtsp = section("rtsp"); rtsp != nullptr && !read_rtsp(*rtsp, config, detail)) {
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

std::optional<std::string> read_admin_token(const std::string& path, std::string& error) {
    std::ifstream in(path);
    std::string token;
    std::getline(in, token);
    token = std::string(trim(token));
    if (!in || token.size() < 16) {
        error = fmt::format("{}: want a file whose first line is a token of 16 or more characters", path);
        return std::nullopt;
    }
    return token;
}

}  // namespace sg::app
