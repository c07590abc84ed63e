// `streamgate turn`: the STUN/TURN server's command line, with coturn's option names where they mean the
// same.

#include <spdlog/spdlog.h>

#include <iostream>
#include <memory>
#include <optional>
#include <random>

#include "app/config.hpp"
#include "app/logging.hpp"
#include "app/subcommand.hpp"
#include "stun/stun_message.hpp"
#include "turn/turn_server.hpp"

namespace sg::app {
namespace {

struct TurnFlags {
    std::vector<std::string> listening_ips;
    std::uint16_t listening_port = 3478;
    std::optional<std::uint16_t> alt_listening_port;
    std::vector<std::string> relay_ips;
    std::uint16_t min_port = 49152;
    std::uint16_t max_port = 65535;
    std::vector<std::string> users;
    std::vector<std::string> short_term_users;
    std::string realm = "streamgate";
    bool lt_cred_mech = false;
    std::vector<std::string> denied_peer_ips;
    bool allow_loopback_peers = false;
    bool no_tcp = false;
    std::size_t max_tcp_connections = 1024;
    std::size_t total_quota = 10000;
    std::size_t user_quota = 100;
    unsigned max_allocate_lifetime = 3600;
    std::uint32_t max_auth_failures = 50;
    std::string admin;
    std::string admin_token_file;
    std::string log_level = "info";
    bool rendezvous = false;
    std::size_t rendezvous_max_entries = 10000;
    std::string rendezvous_secret;
};

std::optional<turn::TurnServerConfig> turn_config(const TurnFlags& flags) {
    turn::TurnServerConfig config;
    // Closed by default: only this machine can reach a server nobody asked to expose.
    config.listening_ips =
        flags.listening_ips.empty() ? std::vector<std::string>{"127.0.0.1"} : flags.listening_ips;
    config.listening_port = flags.listening_port;
    // coturn's default: the listening port plus one (used only with two listening IPs of one family).
    config.alt_listening_port =
        flags.alt_listening_port.value_or(static_cast<std::uint16_t>(flags.listening_port + 1));
    config.relay_ips = flags.relay_ips;
    config.tcp = !flags.no_tcp;
    config.max_tcp_connections = flags.max_tcp_connections;
    config.rendezvous = flags.rendezvous;
    config.rendezvous_options.max_entries = flags.rendezvous_max_entries;
    if (!flags.rendezvous_secret.empty() && !flags.rendezvous) {
        std::cerr << "streamgate: turn: --rendezvous-secret needs --rendezvous\n";
        return std::nullopt;
    }
    config.rendezvous_options.secret = flags.rendezvous_secret;
    if (flags.min_port == 0 || flags.max_port < flags.min_port) {
        std::cerr << "streamgate: turn: --min-port/--max-port: want 1 <= min <= max\n";
        return std::nullopt;
    }
    config.min_port = flags.min_port;
    config.max_port = flags.max_port;
    auto& options = config.options;
    options.realm = flags.realm;
    // NAME:PASSWORD (the password may hold colons).
    const auto split = [](const std::string& entry,
                          std::string_view option) -> std::optional<std::pair<std::string, std::string>> {
        const auto colon = entry.find(':');
        if (colon == std::string::npos || colon == 0) {
            std::cerr << "streamgate: turn: " << option << ' ' << entry << ": want NAME:PASSWORD\n";
            return std::nullopt;
        }
        return std::pair{entry.substr(0, colon), entry.substr(colon + 1)};
    };
    for (const auto& entry : flags.users) {
        const auto user = split(entry, "--user");
        if (!user) return std::nullopt;
        options.users[user->first] = turn::make_user_keys(user->first, options.realm, user->second);
    }
    for (const auto& entry : flags.short_term_users) {
        const auto user = split(entry, "--short-term-user");
        if (!user) return std::nullopt;
        options.short_term_users[user->first].assign(user->second.begin(), user->second.end());
    }
    for (const auto& text : flags.denied_peer_ips) {
        const auto range = turn::PeerRange::parse(text);
        if (!range) {
            std::cerr << "streamgate: turn: --denied-peer-ip " << text << ": " << range.error() << '\n';
            return std::nullopt;
        }
        options.peers.denied.push_back(*range);
    }
    options.peers.allow_loopback = flags.allow_loopback_peers;
    options.max_allocations = flags.total_quota;
    options.max_allocations_per_user = flags.user_quota;
    options.max_lifetime = std::chrono::seconds{flags.max_allocate_lifetime};
    options.max_auth_failures = flags.max_auth_failures == 0 ? UINT32_MAX : flags.max_auth_failures;
    std::random_device random;
    for (auto& b : options.nonce_secret)
        b = static_cast<std::uint8_t>(random());
    if (!flags.admin.empty()) {
        const auto hp = net::parse_host_port(flags.admin);
        if (!hp) {
            std::cerr << "streamgate: turn: --admin " << flags.admin << ": " << hp.error() << '\n';
            return std::nullopt;
        }
        config.admin = *hp;
    }
    if (!flags.admin_token_file.empty()) {
        std::string error;
        auto token = read_admin_token(flags.admin_token_file, error);
        if (!token) {
            std::cerr << "streamgate: turn: --admin-token-file " << error << '\n';
            return std::nullopt;
        }
        config.admin_token = std::move(*token);
    }
    config.version = STREAMGATE_VERSION;
    return config;
}

}  // namespace

Subcommand add_turn_command(CLI::App& app) {
    auto* turn =
        app.add_subcommand("turn", "STUN/TURN server (RFC 8489, RFC 8656) for WebRTC and SIP clients");
    auto flags = std::make_shared<TurnFlags>();
    turn->add_option("--listening-ip", flags->listening_ips,
                     "Address to listen on, UDP and TCP (repeatable; default 127.0.0.1 only)");
    turn->add_option("--listening-port", flags->listening_port, "Port to listen on (default 3478)");
    turn->add_option("--alt-listening-port", flags->alt_listening_port,
                     "Second port for RFC 5780 NAT behaviour discovery, used when two --listening-ip of one "
                     "family are given (default: --listening-port + 1; 0: off)");
    turn->add_flag("--no-tcp", flags->no_tcp,
                   "Listen on UDP only (default: UDP and TCP on the same addresses)");
    turn->add_option("--max-tcp-connections", flags->max_tcp_connections,
                     "TCP clients at once; more are closed at accept (default 1024)");
    turn->add_option("--relay-ip", flags->relay_ips,
                     "Address of relayed sockets, one per family (repeatable; default: the listening IPs)");
    turn->add_option("--min-port", flags->min_port, "Lowest relayed UDP port (default 49152)");
    turn->add_option("--max-port", flags->max_port, "Highest relayed UDP port (default 65535)");
    turn->add_option("--user,-u", flags->users, "Long-term credential NAME:PASSWORD (repeatable)");
    turn->add_option("--short-term-user", flags->short_term_users,
                     "Short-term credential NAME:PASSWORD for Binding requests that carry MESSAGE-INTEGRITY "
                     "(RFC 8489 section 9.1; repeatable). Bindings without it are answered as always");
    turn->add_option("--realm,-r", flags->realm, "Realm of the long-term credentials (default streamgate)");
    turn->add_flag("--lt-cred-mech,-a", flags->lt_cred_mech,
                   "Long-term credential mechanism (always on: accepted for coturn compatibility)");
    turn->add_option("--denied-peer-ip", flags->denied_peer_ips,
                     "Peer range (CIDR or address) never relayed to (repeatable; loopback, link-local, "
                     "unspecified and multicast are always denied)");
    turn->add_flag("--allow-loopback-peers", flags->allow_loopback_peers,
                   "Allow relaying to loopback peers (tests and benchmarks on one machine)");
    turn->add_option("--total-quota", flags->total_quota, "Allocations at most in total (default 10000)");
    turn->add_option("--user-quota", flags->user_quota, "Allocations at most per user (default 100)");
    turn->add_option("--max-allocate-lifetime", flags->max_allocate_lifetime,
                     "Longest allocation lifetime granted, seconds (default 3600)")
        ->check(CLI::Range(600U, 86400U));
    turn->add_option("--max-auth-failures", flags->max_auth_failures,
                     "Failed authentications from one address within 60 s before its requests go unanswered "
                     "until the minute ends (0: no limit; default 50)");
    turn->add_option("--admin", flags->admin,
                     "Admin listener for Prometheus /metrics and the JSON API, HOST:PORT (default: none)");
    turn->add_option("--admin-token-file", flags->admin_token_file,
                     "File whose first line is the bearer token that lets the admin API end allocations; "
                     "without it the API is read-only");
    turn->add_flag(
        "--rendezvous", flags->rendezvous,
        "Also answer streamgate punch's rendezvous registrations on the UDP listeners (default off)");
    turn->add_option("--rendezvous-max-entries", flags->rendezvous_max_entries,
                     "Rendezvous registrations held at most; more are refused (default 10000)");
    turn->add_option(
        "--rendezvous-secret", flags->rendezvous_secret,
        "Secret shared with streamgate punch: only registrations signed with it "
        "(MESSAGE-INTEGRITY-SHA256) are taken, others get 401 (default: none, not authenticated)");
    add_log_level_option(*turn, flags->log_level);
    const auto run = [flags]() -> int {
        const auto config = turn_config(*flags);
        if (!config) return 2;
        start_logging(flags->log_level);
        if (config->options.users.empty())
            spdlog::warn("turn: no --user: STUN Binding only, every TURN request is refused (401)");
        return turn::run_turn(*config);
    };
    return {turn, run};
}

}  // namespace sg::app
