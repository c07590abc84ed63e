// `streamgate turn`: the STUN/TURN server's command line, with coturn's option names where they mean the
// same.

#include <spdlog/spdlog.h>

#include <iostream>
#include <memory>
#include <optional>
#include <random>

#include "app/config.hpp"
#include "app/logging.hpp"
#include "app/option_table.hpp"
#include "app/subcommand.hpp"
#include "app/turn_cli.hpp"
#include "stun/stun_message.hpp"
#include "tls/tls_context.hpp"
#include "turn/turn_server.hpp"

namespace sg::app {
namespace {

// The users of --user and --short-term-user (NAME:PASSWORD; the password may hold colons), keyed for
// --realm.
std::optional<turn::TurnCredentials> turn_credentials(const TurnFlags& flags, std::string& error) {
    turn::TurnCredentials credentials;
    const auto split = [](const std::string& entry) -> std::optional<std::pair<std::string, std::string>> {
        const auto colon = entry.find(':');
        if (colon == std::string::npos || colon == 0) return std::nullopt;
        return std::pair{entry.substr(0, colon), entry.substr(colon + 1)};
    };
    for (const auto& entry : flags.users) {
        const auto user = split(entry);
        if (!user) {
            error = "--user " + entry + ": want NAME:PASSWORD";
            return std::nullopt;
        }
        credentials.users[user->first] = turn::make_user_keys(user->first, flags.realm, user->second);
    }
    for (const auto& entry : flags.short_term_users) {
        const auto user = split(entry);
        if (!user) {
            error = "--short-term-user " + entry + ": want NAME:PASSWORD";
            return std::nullopt;
        }
        credentials.short_term_users[user->first].assign(user->second.begin(), user->second.end());
    }
    return credentials;
}

}  // namespace

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
    // TURN over TLS when given a certificate and key, as coturn does (unless --no-tls).
    if (flags.cert.empty() != flags.pkey.empty()) {
        std::cerr << "streamgate: turn: --cert and --pkey go together\n";
        return std::nullopt;
    }
    if (!flags.cert.empty() && !flags.no_tls) {
        std::string tls_error;
        config.tls = tls::make_server_context(flags.cert, flags.pkey, tls_error);
        if (!config.tls) {
            std::cerr << "streamgate: turn: " << tls_error << '\n';
            return std::nullopt;
        }
        config.tls_listening_port = flags.tls_listening_port;
    }
    config.max_tcp_connections = flags.max_tcp_connections;
    config.max_allocate_timeout = std::chrono::seconds{flags.max_allocate_timeout};
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
    std::string error;
    auto credentials = turn_credentials(flags, error);
    if (!credentials) {
        std::cerr << "streamgate: turn: " << error << '\n';
        return std::nullopt;
    }
    options.credentials = std::move(*credentials);
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
    turn->add_option("--max-allocate-timeout", flags->max_allocate_timeout,
                     "Seconds a TCP or TLS client may stay connected without an allocation (default 60)")
        ->check(CLI::Range(1U, 3600U));
    turn->add_option(
        "--cert", flags->cert,
        "PEM certificate chain for TURN over TLS (turns:); with --pkey, every --listening-ip also "
        "takes TLS on --tls-listening-port");
    turn->add_option("--pkey", flags->pkey, "PEM private key of --cert");
    turn->add_option("--tls-listening-port", flags->tls_listening_port,
                     "Port for TURN over TLS (default 5349)");
    turn->add_flag("--no-tls", flags->no_tls, "No TLS listeners even with --cert and --pkey");
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
    turn->add_option("--config-file", flags->config_file,
                     "TOML file whose [turn] table holds the same options (long names as keys); the command "
                     "line wins. SIGHUP reads its user and short-term-user lists again");
    const auto run = [flags, turn]() -> int {
        const auto given = given_on_command_line(*turn);
        const auto read_file = [&](std::string& error) {
            return read_turn_config_file(flags->config_file, given, *flags, error);
        };
        if (!flags->config_file.empty() &&
            !read_config_file_or_complain("turn", flags->config_file, read_file))
            return 2;
        auto config = turn_config(*flags);
        if (!config) return 2;
        if (!flags->config_file.empty()) {
            // The file again, over the options as they were at start: the command line still wins, and
            // the realm the keys are made for cannot change without a restart.
            config->reload_credentials = [flags = *flags,
                                          given](std::string& error) -> std::optional<turn::TurnCredentials> {
                TurnFlags fresh = flags;
                // Lists the file no longer has are gone, unless they came from the command line.
                if (!given("--user")) fresh.users.clear();
                if (!given("--short-term-user")) fresh.short_term_users.clear();
                if (!read_turn_config_file(fresh.config_file, given, fresh, error)) {
                    error = fresh.config_file + ": " + error;
                    return std::nullopt;
                }
                if (fresh.realm != flags.realm) {
                    error = "the realm changed: that needs a restart";
                    return std::nullopt;
                }
                return turn_credentials(fresh, error);
            };
        }
        start_logging(flags->log_level);
        if (config->options.credentials.users.empty())
            spdlog::warn("turn: no --user: STUN Binding only, every TURN request is refused (401)");
        return turn::run_turn(*config);
    };
    return {turn, run};
}

}  // namespace sg::app
