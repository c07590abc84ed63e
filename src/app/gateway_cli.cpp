// `streamgate gateway`: the command line, on top of the configuration file or the built-in default.

#include <spdlog/spdlog.h>

#include <iostream>
#include <memory>
#include <sstream>
#include <tuple>

#include "app/config.hpp"
#include "app/gateway_command.hpp"
#include "app/logging.hpp"
#include "app/subcommand.hpp"
#include "net/relay.hpp"

namespace sg::app {
namespace {

// Builds the gateway configuration: a config file (or the built-in default) with command-line listeners on
// top.
struct GatewayFlags {
    std::string config_file;
    std::vector<std::string> socks;
    std::vector<std::string> allow;
    std::vector<std::string> users;
    std::string admin;
    std::string admin_token_file;
    std::string family_policy;
    std::string log_level;
    std::string alg_ports;
    std::vector<std::string> rtsp;
    std::vector<std::string> rtsps;
    std::string tls_cert;
    std::string tls_key;
    std::vector<std::string> mounts;
    std::vector<std::string> rtsp_users;
    std::int64_t threads = -1;  // -1: not given, the file decides
};

// --rtsp, --rtsps and --mount add to what the configuration file says; --tls-cert and --tls-key replace it.
bool add_rtsp_flags(const GatewayFlags& flags, GatewayConfig& config, std::ostream& errors) {
    for (const auto& [option, texts, out] :
         {std::tuple{"--rtsp", &flags.rtsp, &config.rtsp_listeners},
          std::tuple{"--rtsps", &flags.rtsps, &config.rtsp_tls_listeners}}) {
        for (const auto& text : *texts) {
            const auto hp = sg::net::parse_host_port(text);
            if (!hp) {
                errors << "streamgate: " << option << ' ' << text << ": " << hp.error() << '\n';
                return false;
            }
            out->push_back(*hp);
        }
    }
    if (!flags.tls_cert.empty()) config.rtsp_tls_certificate = flags.tls_cert;
    if (!flags.tls_key.empty()) config.rtsp_tls_key = flags.tls_key;
    for (const auto& text : flags.mounts) {
        auto mount = parse_mount_spec(text);
        if (!mount) {
            // The URL may hold a password: name the mount only.
            errors << "streamgate: --mount " << text.substr(0, text.find('=')) << ": " << mount.error()
                   << '\n';
            return false;
        }
        for (const auto& existing : config.rtsp_mounts) {
            if (existing.name == mount->name) {
                errors << "streamgate: --mount " << mount->name << ": the name is used twice\n";
                return false;
            }
        }
        config.rtsp_mounts.push_back(std::move(*mount));
    }
    for (const auto& spec : flags.rtsp_users) {
        if (const auto added = add_rtsp_user(spec, config.rtsp_users); !added) {
            errors << "streamgate: --rtsp-user: " << added.error() << '\n';  // never echo the password
            return false;
        }
    }
    return true;
}

// Says why on `errors` when the configuration is not valid.
std::optional<GatewayConfig> gateway_config(const GatewayFlags& flags, std::ostream& errors) {
    const auto& config_file = flags.config_file;
    const auto& socks = flags.socks;
    const auto& allow = flags.allow;
    std::string error;
    auto config = config_file.empty() ? parse_config(default_config_text(), "built-in default", error)
                                      : load_config_file(config_file, error);
    if (!config) {
        errors << "streamgate: " << error << '\n';
        return std::nullopt;
    }
    // Without a config file, --socks replaces the default loopback listeners instead of adding to them, so
    // "--socks 127.0.0.1:1080" does not collide with the default's identical listener.
    if (config_file.empty() && !socks.empty()) config->socks_listeners.clear();
    for (const auto& text : socks) {
        const auto hp = sg::net::parse_host_port(text);
        if (!hp) {
            errors << "streamgate: --socks " << text << ": " << hp.error() << '\n';
            return std::nullopt;
        }
        config->socks_listeners.push_back(*hp);
    }
    for (const auto& text : allow) {
        const auto cidr = sg::net::Cidr::parse(text);
        if (!cidr) {
            errors << "streamgate: --allow " << text << ": " << cidr.error() << '\n';
            return std::nullopt;
        }
        config->allow.push_back(*cidr);
    }
    for (const auto& spec : flags.users) {
        if (const auto added = config->users.add_spec(spec); !added) {
            errors << "streamgate: --user: " << added.error() << '\n';  // never echo the password
            return std::nullopt;
        }
    }
    if (flags.admin == "off") {
        config->admin.reset();
    } else if (!flags.admin.empty()) {
        const auto hp = sg::net::parse_host_port(flags.admin);
        if (!hp) {
            errors << "streamgate: --admin " << flags.admin << ": " << hp.error() << '\n';
            return std::nullopt;
        }
        config->admin = *hp;
    }
    if (!flags.family_policy.empty()) {
        const auto policy = sg::socks::parse_family_policy(flags.family_policy);
        if (!policy) {
            errors << "streamgate: --family-policy: " << policy.error() << '\n';
            return std::nullopt;
        }
        config->family_policy = *policy;
    }
    if (!flags.log_level.empty()) config->log_level = flags.log_level;
    if (flags.threads >= 0) config->threads = static_cast<std::uint32_t>(flags.threads);
    if (!flags.admin_token_file.empty()) config->admin_token_file = flags.admin_token_file;
    if (!flags.alg_ports.empty()) {
        const auto range = parse_alg_ports(flags.alg_ports);
        if (!range) {
            errors << "streamgate: --alg-ports " << flags.alg_ports << ": " << range.error() << '\n';
            return std::nullopt;
        }
        config->alg_port_first = range->first;
        config->alg_port_last = range->second;
    }
    if (!add_rtsp_flags(flags, *config, errors)) return std::nullopt;
    return config;
}

}  // namespace

Subcommand add_gateway_command(CLI::App& app) {
    auto* gateway = app.add_subcommand("gateway", "Run the SOCKS5 gateway (loopback only unless configured)");
    // Owned by the runner, which outlives parsing.
    auto flags = std::make_shared<GatewayFlags>();
    auto print_config = std::make_shared<bool>(false);
    gateway->add_option("--config", flags->config_file, "TOML configuration file (default: the built-in one)")
        ->check(CLI::ExistingFile);
    gateway->add_option("--socks", flags->socks, "SOCKS5 listener HOST:PORT or [IPV6]:PORT (repeatable)");
    gateway->add_option("--allow", flags->allow,
                        "Admit clients from this network, CIDR (repeatable; default: loopback)");
    gateway->add_option("--user", flags->users,
                        "RFC 1929 account NAME:PASSWORD (repeatable); then no-authentication is refused");
    gateway->add_option("--family-policy", flags->family_policy,
                        "Target address families: any|prefer-ipv4|ipv4-only|ipv6-only (default: any)");
    gateway->add_option("--admin", flags->admin,
                        "Admin listener for Prometheus /metrics and the JSON API, HOST:PORT or 'off'");
    gateway->add_option("--admin-token-file", flags->admin_token_file,
                        "File whose first line is the bearer token that lets the admin API change things "
                        "(end sessions and players, reload); without it the API is read-only");
    add_log_level_option(*gateway, flags->log_level);
    gateway->add_option("--alg-ports", flags->alg_ports,
                        "UDP ports FIRST-LAST for the RTSP ALG's media relays (default: 30000-39999)");
    gateway->add_option("--rtsp", flags->rtsp,
                        "RTSP proxy listener HOST:PORT or [IPV6]:PORT for the mounts (repeatable)");
    gateway->add_option("--rtsps", flags->rtsps,
                        "RTSPS (RTSP over TLS) proxy listener HOST:PORT for the mounts (repeatable; needs "
                        "--tls-cert and --tls-key)");
    gateway->add_option("--tls-cert", flags->tls_cert, "PEM certificate chain of the RTSPS listeners");
    gateway->add_option("--tls-key", flags->tls_key, "PEM private key of the RTSPS listeners");
    gateway->add_option(
        "--mount", flags->mounts,
        "RTSP proxy mount NAME=rtsp://[user:password@]host[:port]/path, or NAME=publish for a "
        "mount publishers push to (ANNOUNCE + RECORD) (repeatable); players open "
        "rtsp://GW:PORT/NAME");
    gateway->add_option(
        "--rtsp-user", flags->rtsp_users,
        "RTSP proxy player account NAME:PASSWORD (repeatable); then players need Digest auth");
    gateway
        ->add_option("--threads", flags->threads,
                     "Event loops for SOCKS sessions, one thread each; sessions are spread over them "
                     "(default: [gateway] threads, 0 = one per core)")
        ->check(CLI::Range(0, 1024));
    gateway->add_flag("--print-config", *print_config, "Print the built-in default configuration and exit");

    const auto run = [flags, print_config]() -> int {
        if (*print_config) {
            std::cout << default_config_text();
            return 0;
        }
        // The same recipe at start-up and on reload: the file (re-read) plus the command line. On a reload
        // the reason goes to the log (and to the API's caller).
        const auto reload = [flags](std::string& error) -> std::optional<GatewayConfig> {
            std::ostringstream errors;
            auto fresh = gateway_config(*flags, errors);
            if (!fresh) {
                error = errors.str();
                while (!error.empty() && error.back() == '\n')
                    error.pop_back();
            }
            return fresh;
        };
        auto config = gateway_config(*flags, std::cerr);
        if (!config) return 2;
        net::ignore_sigpipe();  // a peer vanishing mid-splice must cost one session, not the process
        start_logging(config->log_level);
        return run_gateway(*config, reload, flags->config_file);
    };
    return {gateway, run};
}

}  // namespace sg::app
