#include "app/config_diff.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace sg::app {
namespace {

std::vector<std::string> cidr_texts(const std::vector<net::Cidr>& list) {
    std::vector<std::string> out;
    out.reserve(list.size());
    for (const auto& cidr : list)
        out.push_back(cidr.to_string());
    return out;
}

// Every field of a rule as text: Cidr has no operator==, and a rule changes as a whole anyway.
std::string rule_text(const socks::Rule& rule) {
    std::string text = fmt::format("{} {}", rule.name, socks::to_string(rule.action));
    for (const auto& c : cidr_texts(rule.clients))
        text += " from " + c;
    for (const auto command : rule.commands)
        text += " cmd " + std::string(socks::to_string(command));
    for (const auto& c : cidr_texts(rule.to_networks))
        text += " to " + c;
    for (const auto& d : rule.to_domains)
        text += " to " + d;
    for (const auto& p : rule.to_ports)
        text += " port " + socks::to_string(p);
    for (const auto& u : rule.users)
        text += " user " + u;
    return text;
}

std::vector<std::string> rule_texts(const std::vector<socks::Rule>& rules) {
    std::vector<std::string> out;
    out.reserve(rules.size());
    for (const auto& rule : rules)
        out.push_back(rule_text(rule));
    return out;
}

void mount_changes(const GatewayConfig& before, const GatewayConfig& after, std::vector<std::string>& out) {
    const auto find = [](const std::vector<RtspMountConfig>& mounts, const std::string& name) {
        return std::find_if(mounts.begin(), mounts.end(), [&](const auto& m) { return m.name == name; });
    };
    for (const auto& mount : after.rtsp_mounts) {
        const auto old = find(before.rtsp_mounts, mount.name);
        if (old == before.rtsp_mounts.end()) {
            out.push_back(fmt::format("rtsp mount {} added", mount.name));
        } else if (!(*old == mount)) {
            out.push_back(fmt::format("rtsp mount {} changed", mount.name));
        }
    }
    for (const auto& mount : before.rtsp_mounts)
        if (find(after.rtsp_mounts, mount.name) == after.rtsp_mounts.end())
            out.push_back(fmt::format("rtsp mount {} removed", mount.name));
}

}  // namespace

std::vector<std::string> describe_changes(const GatewayConfig& before, const GatewayConfig& after) {
    std::vector<std::string> out;
    const auto note = [&out](bool changed, std::string_view what) {
        if (changed) out.emplace_back(what);
    };
    note(before.socks_listeners != after.socks_listeners, "socks listeners (needs a restart)");
    note(before.admin != after.admin, "admin listener (needs a restart)");
    note(before.rtsp_listeners != after.rtsp_listeners, "rtsp listeners (needs a restart)");
    note(before.rtsp_tls_listeners != after.rtsp_tls_listeners ||
             before.rtsp_tls_certificate != after.rtsp_tls_certificate ||
             before.rtsp_tls_key != after.rtsp_tls_key,
         "rtsps listeners or certificate (needs a restart)");
    note(cidr_texts(before.allow) != cidr_texts(after.allow), "allow");
    note(before.family_policy != after.family_policy, "family_policy");
    note(!(before.users == after.users), "users");
    note(rule_texts(before.rules) != rule_texts(after.rules), "rules");
    note(before.handshake_timeout != after.handshake_timeout ||
             before.connect_timeout != after.connect_timeout || before.idle_timeout != after.idle_timeout ||
             before.drain_timeout != after.drain_timeout,
         "timeouts");
    note(before.max_sessions != after.max_sessions ||
             before.max_sessions_per_client != after.max_sessions_per_client ||
             before.max_udp_associations != after.max_udp_associations,
         "session limits");
    note(before.log_level != after.log_level, "log_level");
    note(before.threads != after.threads || before.rtsp_fanout_threads != after.rtsp_fanout_threads,
         "threads (needs a restart)");
    note(before.udp_segmentation != after.udp_segmentation, "udp_segmentation (needs a restart)");
    note(before.alg_enabled != after.alg_enabled, "alg enabled");
    note(before.alg_port_first != after.alg_port_first || before.alg_port_last != after.alg_port_last ||
             before.alg_session_timeout != after.alg_session_timeout,
         "alg ports or timeout (need a restart)");
    note(before.rtsp_session_timeout != after.rtsp_session_timeout ||
             before.rtsp_max_connections != after.rtsp_max_connections ||
             before.rtsp_max_connections_per_client != after.rtsp_max_connections_per_client,
         "rtsp timeout or limits");
    note(before.rtsp_websocket_origins != after.rtsp_websocket_origins, "rtsp websocket_origins");
    note(before.rtsp_gop_cache_bytes != after.rtsp_gop_cache_bytes ||
             before.rtsp_gop_cache_packets != after.rtsp_gop_cache_packets ||
             before.rtsp_gop_burst_kbps != after.rtsp_gop_burst_kbps,
         "rtsp gop cache (mounts restart)");
    note(before.rtsp_users != after.rtsp_users || before.rtsp_realm != after.rtsp_realm, "rtsp users");
    note(before.rtsp_multicast.to_string() != after.rtsp_multicast.to_string(),
         "rtsp multicast (needs a restart)");
    note(before.rtsp_vod_cache_dir != after.rtsp_vod_cache_dir ||
             before.rtsp_vod_cache_max_mb != after.rtsp_vod_cache_max_mb ||
             before.rtsp_vod_cache_fresh != after.rtsp_vod_cache_fresh,
         "rtsp vod cache (needs a restart)");
    mount_changes(before, after, out);
    return out;
}

}  // namespace sg::app
