#include "app/config.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <asio/ip/address.hpp>

#include <toml++/toml.h>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "common/text.hpp"
#include "rtsp/url.hpp"
#include "websocket/handshake.hpp"

namespace sg::app {
namespace {

// What is wrong with a configuration, each problem with the line it is on, so that one run names every one
// (`streamgate check-config`) instead of the first.
class Problems {
public:
    void add(const toml::node* where, std::string message) {
        const std::uint32_t line = where != nullptr ? where->source().begin.line : 0;
        list_.push_back({line, std::move(message)});
    }
    // The same on a table's key, pointing at the key's value.
    void add(const toml::table& table, std::string_view key, std::string message) {
        add(table.get(key), std::move(message));
    }
    bool empty() const noexcept { return list_.empty(); }
    std::size_t size() const noexcept { return list_.size(); }

    // "SOURCE:LINE: message" lines in file order.
    std::string report(std::string_view source) const {
        auto sorted = list_;
        std::stable_sort(sorted.begin(), sorted.end(),
                         [](const Problem& a, const Problem& b) { return a.line < b.line; });
        std::string out;
        for (const auto& problem : sorted) {
            if (!out.empty()) out += '\n';
            out += problem.line > 0 ? fmt::format("{}:{}: {}", source, problem.line, problem.message)
                                    : fmt::format("{}: {}", source, problem.message);
        }
        return out;
    }

private:
    struct Problem {
        std::uint32_t line;
        std::string message;
    };
    std::vector<Problem> list_;
};

// Every key of `table` that is not `known`: a misspelt option must not silently fall back to a default.
void reject_unknown_keys(const toml::table& table, const std::set<std::string_view>& known,
                         std::string_view where, Problems& problems) {
    for (const auto& [key, value] : table) {
        if (!known.contains(key.str()))
            problems.add(&value, fmt::format("{}: unknown key '{}'", where, key.str()));
    }
}

void read_seconds(const toml::table& table, std::string_view key, std::chrono::seconds& out,
                  Problems& problems) {
    const auto* node = table.get(key);
    if (node == nullptr) return;
    const auto value = node->value<std::int64_t>();
    if (!value || *value <= 0 || *value > std::int64_t{86400} * 365) {
        problems.add(node, fmt::format("{}: must be a positive number of seconds", key));
        return;
    }
    out = std::chrono::seconds{*value};
}

// Event loops beyond this are a typo, not a machine.
constexpr std::uint32_t k_max_threads = 1024;

void read_count(const toml::table& table, std::string_view key, std::uint32_t& out, Problems& problems) {
    const auto* node = table.get(key);
    if (node == nullptr) return;
    const auto value = node->value<std::int64_t>();
    if (!value || *value < 0 || *value > std::numeric_limits<std::uint32_t>::max()) {
        problems.add(node, fmt::format("{}: must be a number from 0 to {}", key,
                                       std::numeric_limits<std::uint32_t>::max()));
        return;
    }
    out = static_cast<std::uint32_t>(*value);
}

// Reads an array of strings, turning each into a T through `parse` (which returns an sg::Result). Returns
// false when anything in it was wrong.
template <class T, class Parse>
bool read_list(const toml::node* node, std::string_view where, Parse parse, std::vector<T>& out,
               Problems& problems) {
    if (node == nullptr) return true;
    const auto* list = node->as_array();
    if (list == nullptr) {
        problems.add(node, fmt::format("{}: must be an array of strings", where));
        return false;
    }
    bool ok = true;
    for (const auto& item : *list) {
        const auto text = item.value<std::string>();
        if (!text) {
            problems.add(&item, fmt::format("{}: must be an array of strings", where));
            ok = false;
            continue;
        }
        auto value = parse(*text);
        if (!value) {
            problems.add(&item, fmt::format("{}: '{}': {}", where, *text, value.error()));
            ok = false;
            continue;
        }
        out.push_back(std::move(*value));
    }
    return ok;
}

sg::Result<std::string> any_text(std::string_view text) {
    return std::string(text);
}

// `to = [...]` mixes networks and domain suffixes: whatever parses as CIDR is a network.
void read_rule_targets(const toml::node* node, socks::Rule& rule, Problems& problems) {
    std::vector<std::string> targets;
    read_list(node, "[[rule]] to", any_text, targets, problems);
    for (const auto& target : targets) {
        if (auto cidr = net::Cidr::parse(target)) {
            rule.to_networks.push_back(*cidr);
        } else if (auto domain = socks::parse_domain_pattern(target)) {
            rule.to_domains.push_back(*domain);
        } else {
            problems.add(
                node, fmt::format("[[rule]] to: '{}' is neither a CIDR network nor a domain suffix", target));
        }
    }
}

// Returns false when the rule is too broken to check further.
bool read_rule(const toml::table& table, socks::Rule& rule, Problems& problems) {
    static const std::set<std::string_view> known{"name", "action", "clients", "commands",
                                                  "to",   "ports",  "users"};
    reject_unknown_keys(table, known, "[[rule]]", problems);
    const auto name = table["name"].value<std::string>();
    const auto action_text = table["action"].value<std::string>();
    if (!name || !action_text) {
        problems.add(&table, "[[rule]]: needs name = \"...\" and action = \"allow\" or \"deny\"");
        return false;
    }
    rule.name = *name;
    if (const auto action = socks::parse_action(*action_text); action) {
        rule.action = *action;
    } else {
        problems.add(table, "action", fmt::format("[[rule]] '{}' action: {}", *name, action.error()));
    }
    read_list(table.get("clients"), "[[rule]] clients", net::Cidr::parse, rule.clients, problems);
    read_list(table.get("commands"), "[[rule]] commands", socks::parse_command, rule.commands, problems);
    read_rule_targets(table.get("to"), rule, problems);
    read_list(table.get("ports"), "[[rule]] ports", socks::parse_port_range, rule.to_ports, problems);
    read_list(table.get("users"), "[[rule]] users", any_text, rule.users, problems);
    return true;
}

void read_rules(const toml::node* node, GatewayConfig& config, Problems& problems) {
    if (node == nullptr) return;
    const auto* tables = node->as_array();
    if (tables == nullptr || !tables->is_array_of_tables()) {
        problems.add(node, "rule: must be written as [[rule]] tables");
        return;
    }
    const std::size_t before = problems.size();
    for (const auto& item : *tables) {
        socks::Rule rule;
        if (read_rule(*item.as_table(), rule, problems)) config.rules.push_back(std::move(rule));
    }
    if (problems.size() != before) return;
    // Validates names (unique, printable), ranges and patterns the same way the server will.
    if (const auto checked = socks::RuleSet::create(config.rules); !checked)
        problems.add(node, fmt::format("[[rule]]: {}", checked.error()));
}

void read_gateway(const toml::table& gw, GatewayConfig& config, Problems& problems) {
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
                                                  "max_udp_associations",
                                                  "threads",
                                                  "udp_segmentation"};
    reject_unknown_keys(gw, known, "[gateway]", problems);
    read_list(gw.get("socks"), "[gateway] socks", net::parse_host_port, config.socks_listeners, problems);
    if (const auto* admin = gw.get("admin")) {
        const auto text = admin->value<std::string>();
        if (!text) {
            problems.add(admin, "[gateway] admin: must be a \"HOST:PORT\" string (\"\" to turn it off)");
        } else if (text->empty()) {
            config.admin.reset();
        } else if (const auto hp = net::parse_host_port(*text); !hp) {
            problems.add(admin, fmt::format("[gateway] admin: '{}': {}", *text, hp.error()));
        } else {
            config.admin = *hp;
        }
    }
    if (const auto* token_file = gw.get("admin_token_file")) {
        const auto text = token_file->value<std::string>();
        if (text) {
            config.admin_token_file = *text;
        } else {
            problems.add(token_file, "[gateway] admin_token_file: must be a file name string");
        }
    }
    if (const auto* policy = gw.get("family_policy")) {
        const auto text = policy->value<std::string>();
        const auto parsed =
            text ? socks::parse_family_policy(*text) : sg::Result<socks::FamilyPolicy>(sg::fail(""));
        if (parsed) {
            config.family_policy = *parsed;
        } else {
            problems.add(policy,
                         "[gateway] family_policy: must be \"any\", \"ipv4-only\", \"ipv6-only\" or "
                         "\"prefer-ipv4\"");
        }
    }
    std::vector<std::string> users;
    read_list(gw.get("users"), "[gateway] users", any_text, users, problems);
    for (const auto& spec : users) {
        // Never echo the spec: it holds a password.
        if (const auto added = config.users.add_spec(spec); !added)
            problems.add(gw, "users", fmt::format("[gateway] users: an entry is invalid: {}", added.error()));
    }
    read_list(gw.get("allow"), "[gateway] allow", net::Cidr::parse, config.allow, problems);
    read_seconds(gw, "handshake_timeout_s", config.handshake_timeout, problems);
    read_seconds(gw, "connect_timeout_s", config.connect_timeout, problems);
    read_seconds(gw, "idle_timeout_s", config.idle_timeout, problems);
    read_seconds(gw, "drain_timeout_s", config.drain_timeout, problems);
    read_count(gw, "max_sessions", config.max_sessions, problems);
    read_count(gw, "max_sessions_per_client", config.max_sessions_per_client, problems);
    read_count(gw, "max_udp_associations", config.max_udp_associations, problems);
    read_count(gw, "threads", config.threads, problems);
    if (config.threads > k_max_threads) {
        problems.add(gw, "threads", fmt::format("threads: must be a number from 0 to {}", k_max_threads));
        config.threads = 0;
    }
    if (const auto* segmentation = gw.get("udp_segmentation")) {
        // as_boolean(), not value<bool>(): toml++ would convert an integer.
        if (const auto* value = segmentation->as_boolean(); value != nullptr) {
            config.udp_segmentation = value->get();
        } else {
            problems.add(segmentation, "[gateway] udp_segmentation: must be true or false");
        }
    }
}

void read_log(const toml::table& log, GatewayConfig& config, Problems& problems) {
    static const std::set<std::string_view> known{"level"};
    reject_unknown_keys(log, known, "[log]", problems);
    static const std::set<std::string_view> levels{"trace", "debug",    "info", "warn",
                                                   "error", "critical", "off"};
    if (const auto level = log["level"].value<std::string>()) {
        if (levels.contains(*level)) {
            config.log_level = *level;
        } else {
            problems.add(
                log, "level",
                fmt::format("[log] level: '{}' is not one of trace, debug, info, warn, error, critical, off",
                            *level));
        }
    }
}

void read_alg(const toml::table& alg, GatewayConfig& config, Problems& problems) {
    static const std::set<std::string_view> known{"enabled", "ports", "session_timeout_s"};
    reject_unknown_keys(alg, known, "[alg]", problems);
    if (const auto* enabled = alg.get("enabled")) {
        // as_boolean(), not value<bool>(): toml++ would convert an integer.
        if (const auto* value = enabled->as_boolean(); value != nullptr) {
            config.alg_enabled = value->get();
        } else {
            problems.add(enabled, "[alg] enabled: must be true or false");
        }
    }
    if (const auto* ports = alg.get("ports")) {
        const auto text = ports->value<std::string>();
        if (const auto range = text ? parse_alg_ports(*text) : parse_alg_ports(""); range) {
            config.alg_port_first = range->first;
            config.alg_port_last = range->second;
        } else {
            problems.add(ports,
                         fmt::format("[alg] ports: must be a \"FIRST-LAST\" string: {}", range.error()));
        }
    }
    read_seconds(alg, "session_timeout_s", config.alg_session_timeout, problems);
}

void read_mount(const toml::table& table, GatewayConfig& config, Problems& problems) {
    static const std::set<std::string_view> known{"name",
                                                  "url",
                                                  "transport",
                                                  "user",
                                                  "password",
                                                  "always_on",
                                                  "publish",
                                                  "publish_user",
                                                  "publish_password",
                                                  "publish_takeover",
                                                  "gop_cache_bytes",
                                                  "gop_cache_packets",
                                                  "gop_burst_kbps",
                                                  "tls_verify",
                                                  "tls_ca",
                                                  "multicast_group",
                                                  "multicast_port",
                                                  "vod_cache"};
    reject_unknown_keys(table, known, "[[rtsp.mount]]", problems);
    RtspMountConfig mount;
    const auto name = table["name"].value<std::string>();
    const auto url = table["url"].value<std::string>();
    const auto publish = table["publish"].value<bool>();
    if (!name || (!url && !publish.value_or(false))) {
        problems.add(&table,
                     "[[rtsp.mount]]: needs name = \"...\" and url = \"rtsp://...\" (or publish = true)");
        return;
    }
    mount.name = *name;
    mount.url = url.value_or("");
    bool ok = true;
    for (const auto& [key, field] :
         {std::pair{"transport", &mount.transport}, std::pair{"user", &mount.user},
          std::pair{"password", &mount.password}, std::pair{"publish_user", &mount.publish_user},
          std::pair{"publish_password", &mount.publish_password}, std::pair{"tls_ca", &mount.tls_ca},
          std::pair{"multicast_group", &mount.multicast_group}}) {
        if (const auto* node = table.get(key)) {
            if (const auto text = node->value<std::string>(); text) {
                *field = *text;
            } else {
                problems.add(node, fmt::format("[[rtsp.mount]] '{}' {}: must be a string", mount.name, key));
                ok = false;
            }
        }
    }
    for (const auto& [key, field] :
         {std::pair{"always_on", &mount.always_on}, std::pair{"publish", &mount.publish},
          std::pair{"publish_takeover", &mount.publish_takeover}, std::pair{"tls_verify", &mount.tls_verify},
          std::pair{"vod_cache", &mount.vod_cache}}) {
        if (const auto* node = table.get(key)) {
            if (const auto* value = node->as_boolean(); value != nullptr) {
                *field = value->get();
            } else {
                problems.add(node,
                             fmt::format("[[rtsp.mount]] '{}' {}: must be true or false", mount.name, key));
                ok = false;
            }
        }
    }
    read_count(table, "multicast_port", mount.multicast_port, problems);
    if (!mount.multicast_group.empty()) {
        asio::error_code ec;
        const auto group = asio::ip::make_address(mount.multicast_group, ec);
        if (ec || !group.is_multicast()) {
            problems.add(
                table.get("multicast_group"),
                fmt::format("[[rtsp.mount]] '{}' multicast_group: must be a multicast address", mount.name));
            ok = false;
        }
        if (mount.multicast_port == 0 || mount.multicast_port % 2 != 0 || mount.multicast_port > 65534) {
            problems.add(&table,
                         fmt::format("[[rtsp.mount]] '{}' multicast_port: an even port 2-65534 is needed "
                                     "with multicast_group",
                                     mount.name));
            ok = false;
        }
    } else if (table.get("multicast_port") != nullptr) {
        problems.add(
            table.get("multicast_port"),
            fmt::format("[[rtsp.mount]] '{}' multicast_port: only with multicast_group", mount.name));
        ok = false;
    }
    for (const auto& [key, field] : {std::pair{"gop_cache_bytes", &mount.gop_cache_bytes},
                                     std::pair{"gop_cache_packets", &mount.gop_cache_packets},
                                     std::pair{"gop_burst_kbps", &mount.gop_burst_kbps}}) {
        if (table.get(key) == nullptr) continue;
        std::uint32_t value = 0;
        const auto before = problems.size();
        read_count(table, key, value, problems);
        if (problems.size() != before) {
            ok = false;
        } else {
            *field = value;
        }
    }
    if (!ok) return;
    auto checked = check_mount(std::move(mount));
    if (!checked) {
        problems.add(&table, fmt::format("[[rtsp.mount]] '{}': {}", *name, checked.error()));
        return;
    }
    config.rtsp_mounts.push_back(std::move(*checked));
}

// [rtsp] users (Digest accounts of players, "name:password") and realm.
void read_rtsp_users(const toml::table& rtsp, GatewayConfig& config, Problems& problems) {
    std::vector<std::string> users;
    read_list(rtsp.get("users"), "[rtsp] users", any_text, users, problems);
    for (const auto& spec : users) {
        // Never echo the spec: it holds a password.
        if (auto account = add_rtsp_user(spec, config.rtsp_users); !account)
            problems.add(rtsp, "users",
                         fmt::format("[rtsp] users: an entry is invalid: {}", account.error()));
    }
    if (const auto* realm = rtsp.get("realm")) {
        const auto text = realm->value<std::string>();
        if (!text || text->empty() || text->find_first_of("\"\\") != std::string::npos) {
            problems.add(realm, "[rtsp] realm: must be a non-empty string without '\"' or '\\'");
        } else {
            config.rtsp_realm = *text;
        }
    }
}

void read_rtsp_multicast(const toml::table& rtsp, multicast::MulticastSettings& settings,
                         Problems& problems) {
    if (const auto* node = rtsp.get("multicast_ranges")) {
        const auto* list = node->as_array();
        if (list == nullptr) problems.add(node, "[rtsp] multicast_ranges: must be an array of strings");
        for (std::size_t i = 0; list != nullptr && i < list->size(); ++i) {
            const auto& item = *list->get(i);
            const auto text = item.value<std::string>();
            const auto range = multicast::MulticastRange::parse(text.value_or(""));
            if (!range) {
                problems.add(&item, fmt::format("[rtsp] multicast_ranges: {}", range.error()));
                continue;
            }
            auto& slot = range->network.is_v6() ? settings.v6 : settings.v4;
            if (slot) problems.add(&item, "[rtsp] multicast_ranges: one range per address family");
            slot = *range;
        }
    }
    if (const auto* node = rtsp.get("multicast_ports")) {
        const auto* text = node->as_string();
        if (text == nullptr || !parse_port_range(text->get(), settings.port_first, settings.port_last))
            problems.add(node, "[rtsp] multicast_ports: want \"FIRST-LAST\" with at least two ports");
    }
    if (const auto* node = rtsp.get("multicast_ttl")) {
        const auto ttl = node->value<std::int64_t>();
        if (!ttl || *ttl < 1 || *ttl > 255) {
            problems.add(node, "[rtsp] multicast_ttl: must be 1-255");
        } else {
            settings.ttl = static_cast<std::uint8_t>(*ttl);
        }
    }
    if (const auto* node = rtsp.get("multicast_interface")) {
        const auto name = node->value<std::string>();
        if (!name || name->empty()) {
            problems.add(node, "[rtsp] multicast_interface: must be an interface name");
        } else {
            settings.interface = *name;  // checked when the gateway starts (check-config may run elsewhere)
        }
    }
}

// A mount's configured group must not be one the ranges hand out to other mounts.
void check_fixed_group(const RtspMountConfig& mount, const multicast::MulticastSettings& settings,
                       const toml::node& where, Problems& problems) {
    if (mount.multicast_group.empty()) return;
    const auto group = asio::ip::make_address(mount.multicast_group);
    for (const auto* range : {&settings.v4, &settings.v6}) {
        if (*range && (*range)->contains(group))
            problems.add(&where,
                         fmt::format("[[rtsp.mount]] '{}' multicast_group: {} is inside multicast_ranges' "
                                     "{}, whose groups go to other mounts",
                                     mount.name, mount.multicast_group, (*range)->to_string()));
    }
}

void read_rtsp(const toml::table& rtsp, GatewayConfig& config, Problems& problems) {
    static const std::set<std::string_view> known{"listen",
                                                  "session_timeout_s",
                                                  "mount",
                                                  "users",
                                                  "realm",
                                                  "max_connections",
                                                  "max_connections_per_client",
                                                  "gop_cache_bytes",
                                                  "gop_cache_packets",
                                                  "gop_burst_kbps",
                                                  "fanout_threads",
                                                  "tls_listen",
                                                  "tls_cert",
                                                  "tls_key",
                                                  "multicast_ranges",
                                                  "multicast_ports",
                                                  "multicast_ttl",
                                                  "multicast_interface",
                                                  "websocket_origins",
                                                  "vod_cache_dir",
                                                  "vod_cache_max_mb",
                                                  "vod_cache_fresh_s"};
    reject_unknown_keys(rtsp, known, "[rtsp]", problems);
    read_rtsp_multicast(rtsp, config.rtsp_multicast, problems);
    read_list(rtsp.get("listen"), "[rtsp] listen", net::parse_host_port, config.rtsp_listeners, problems);
    read_list(rtsp.get("tls_listen"), "[rtsp] tls_listen", net::parse_host_port, config.rtsp_tls_listeners,
              problems);
    for (const auto& [key, field] :
         {std::pair{"tls_cert", &config.rtsp_tls_certificate}, std::pair{"tls_key", &config.rtsp_tls_key}}) {
        if (const auto* node = rtsp.get(key)) {
            if (const auto text = node->value<std::string>(); text && !text->empty()) {
                *field = *text;
            } else {
                problems.add(node, fmt::format("[rtsp] {}: must be the path of a PEM file", key));
            }
        }
    }
    if (const auto* node = rtsp.get("vod_cache_dir")) {
        if (const auto text = node->value<std::string>(); text && !text->empty()) {
            config.rtsp_vod_cache_dir = *text;
        } else {
            problems.add(node, "[rtsp] vod_cache_dir: must be the path of a directory");
        }
    }
    read_count(rtsp, "vod_cache_max_mb", config.rtsp_vod_cache_max_mb, problems);
    read_seconds(rtsp, "vod_cache_fresh_s", config.rtsp_vod_cache_fresh, problems);
    read_seconds(rtsp, "session_timeout_s", config.rtsp_session_timeout, problems);
    read_count(rtsp, "max_connections", config.rtsp_max_connections, problems);
    read_count(rtsp, "max_connections_per_client", config.rtsp_max_connections_per_client, problems);
    read_count(rtsp, "gop_cache_bytes", config.rtsp_gop_cache_bytes, problems);
    read_count(rtsp, "gop_cache_packets", config.rtsp_gop_cache_packets, problems);
    read_count(rtsp, "gop_burst_kbps", config.rtsp_gop_burst_kbps, problems);
    if (rtsp.get("fanout_threads") != nullptr) {
        std::uint32_t helpers = 0;
        const auto before = problems.size();
        read_count(rtsp, "fanout_threads", helpers, problems);
        if (helpers > k_max_threads) {
            problems.add(rtsp.get("fanout_threads"),
                         fmt::format("[rtsp] fanout_threads: must be a number from 0 to {}", k_max_threads));
        } else if (problems.size() == before) {
            config.rtsp_fanout_threads = helpers;
        }
    }
    read_rtsp_users(rtsp, config, problems);
    read_list(rtsp.get("websocket_origins"), "[rtsp] websocket_origins", websocket::parse_origin_entry,
              config.rtsp_websocket_origins, problems);
    if (const auto* node = rtsp.get("mount")) {
        const auto* tables = node->as_array();
        if (tables == nullptr || !tables->is_array_of_tables()) {
            problems.add(node, "rtsp.mount: must be written as [[rtsp.mount]] tables");
            return;
        }
        std::set<std::string> names;
        for (const auto& item : *tables) {
            const std::size_t before = config.rtsp_mounts.size();
            read_mount(*item.as_table(), config, problems);
            if (config.rtsp_mounts.size() != before && !names.insert(config.rtsp_mounts.back().name).second) {
                problems.add(&item, fmt::format("[[rtsp.mount]]: the name '{}' is used twice",
                                                config.rtsp_mounts.back().name));
            }
            if (config.rtsp_mounts.size() != before)
                check_fixed_group(config.rtsp_mounts.back(), config.rtsp_multicast, item, problems);
            if (config.rtsp_mounts.size() != before && config.rtsp_mounts.back().vod_cache &&
                config.rtsp_vod_cache_dir.empty()) {
                problems.add(&item, fmt::format("[[rtsp.mount]] '{}' vod_cache: needs [rtsp] vod_cache_dir",
                                                config.rtsp_mounts.back().name));
            }
        }
    }
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
    if (mount.publish) {
        // Publishers bring the media: there is no upstream to configure.
        if (!mount.url.empty() || !mount.user.empty() || !mount.password.empty() || mount.always_on ||
            mount.vod_cache)
            return sg::fail("a publish mount has no url, user, password, always_on or vod_cache");
        if (mount.publish_user.empty() != mount.publish_password.empty())
            return sg::fail("publish_user and publish_password go together");
        return mount;
    }
    if (!mount.publish_user.empty() || !mount.publish_password.empty() || mount.publish_takeover)
        return sg::fail("publish_user, publish_password and publish_takeover need publish = true");
    const auto url = rtsp::parse_url(mount.url);
    if (!url || (url->scheme != "rtsp" && url->scheme != "rtsps"))
        return sg::fail("url must be an rtsp:// or rtsps:// URL");
    if (mount.transport != "udp" && mount.transport != "tcp" && mount.transport != "auto" &&
        mount.transport != "http" && mount.transport != "ws")
        return sg::fail("transport must be \"udp\", \"tcp\", \"auto\", \"http\" or \"ws\"");
    if (url->is_tls() && mount.transport == "http")
        return sg::fail("transport \"http\" (the HTTP tunnel) does not go with an rtsps:// URL");
    if (!url->is_tls() && (!mount.tls_verify || !mount.tls_ca.empty()))
        return sg::fail("tls_verify and tls_ca are for rtsps:// URLs");
    if (!mount.password.empty() && mount.user.empty()) return sg::fail("password without user");
    return mount;
}

sg::Result<RtspMountConfig> parse_mount_spec(std::string_view text) {
    const auto equals = text.find('=');
    if (equals == std::string_view::npos) return sg::fail("expected NAME=URL or NAME=publish");
    RtspMountConfig mount;
    mount.name = std::string(text.substr(0, equals));
    // NAME=publish: a publish mount without credentials (the listener's allow-list still applies).
    if (text.substr(equals + 1) == "publish") {
        mount.publish = true;
    } else {
        mount.url = std::string(text.substr(equals + 1));
    }
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
    Problems problems;
    for (const auto& [key, value] : root) {
        static const std::set<std::string_view> sections{"gateway", "log", "rule", "alg", "rtsp"};
        if (!sections.contains(key.str()))
            problems.add(&value, fmt::format("unknown section '{}'", key.str()));
    }
    const auto section = [&](std::string_view name) -> const toml::table* { return root[name].as_table(); };
    if (const auto* gw = section("gateway")) read_gateway(*gw, config, problems);
    read_rules(root.get("rule"), config, problems);
    if (const auto* log = section("log")) read_log(*log, config, problems);
    if (const auto* alg = section("alg")) read_alg(*alg, config, problems);
    if (const auto* rtsp = section("rtsp")) read_rtsp(*rtsp, config, problems);
    if (!problems.empty()) {
        error = problems.report(source);
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
