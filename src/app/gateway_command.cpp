#include "app/gateway_command.hpp"

#include <net/if.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "alg_relay/rtsp_alg.hpp"
#include "app/config_diff.hpp"
#include "common/units.hpp"
#include "dashboard/dashboard.hpp"
#include "gateway_api/gateway_api.hpp"
#include "metrics/admin_server.hpp"
#include "metrics/registry.hpp"
#include "net/asio_endpoint.hpp"
#include "net/descriptor_limit.hpp"
#include "net/fork_join_pool.hpp"
#include "net/poll_until.hpp"
#include "net/udp_batch.hpp"
#include "proxy/rtsp_proxy.hpp"
#include "rtsp/url.hpp"
#include "socks/server.hpp"
#include "tls/tls_context.hpp"

namespace sg::app {

namespace {

socks::ServerOptions server_options(const GatewayConfig& config) {
    socks::ServerOptions options;
    options.handshake_timeout = config.handshake_timeout;
    options.connect_timeout = config.connect_timeout;
    options.idle_timeout = config.idle_timeout;
    options.family_policy = config.family_policy;
    options.allow = config.allow;
    options.max_sessions = config.max_sessions;
    options.max_sessions_per_client = config.max_sessions_per_client;
    options.max_udp_associations = config.max_udp_associations;
    if (!config.users.empty()) options.users = std::make_shared<const socks::Credentials>(config.users);
    if (!config.rules.empty()) {
        // parse_config already validated the rules, so create() cannot fail here.
        if (auto rules = socks::RuleSet::create(config.rules)) {
            options.rules = std::make_shared<const socks::RuleSet>(std::move(*rules));
        }
    }
    return options;
}

// The RTSP ALG is created once (its port pool and counters live as long as the gateway); [alg] enabled
// decides, at start and on each SIGHUP, whether new CONNECT sessions use it.
std::shared_ptr<alg::RtspAlg> make_rtsp_alg(const GatewayConfig& config, metrics::Registry& registry) {
    alg::AlgOptions options;
    options.port_first = config.alg_port_first;
    options.port_last = config.alg_port_last;
    options.session_timeout = config.alg_session_timeout;
    return std::make_shared<alg::RtspAlg>(options, &registry);
}

socks::ServerOptions with_alg(socks::ServerOptions options, const GatewayConfig& config,
                              const std::shared_ptr<alg::RtspAlg>& alg) {
    if (config.alg_enabled) options.rtsp_alg = alg;
    return options;
}

void log_admission(const GatewayConfig& config) {
    if (config.allow.empty()) {
        spdlog::info("admitting loopback clients only");
    } else {
        for (const auto& cidr : config.allow)
            spdlog::info("admitting clients from {}", cidr.to_string());
    }
}

proxy::RtspProxyOptions rtsp_proxy_options(const GatewayConfig& config) {
    proxy::RtspProxyOptions options;
    options.allow = config.allow;
    options.session_timeout = config.rtsp_session_timeout;
    options.users = config.rtsp_users;
    options.realm = config.rtsp_realm;
    options.caps = {config.rtsp_max_connections, config.rtsp_max_connections_per_client};
    options.multicast = config.rtsp_multicast;
    options.websocket_origins = config.rtsp_websocket_origins;
    options.vod_cache.directory = config.rtsp_vod_cache_dir;
    options.vod_cache.max_bytes = std::uint64_t{config.rtsp_vod_cache_max_mb} * k_mib;
    options.vod_cache.fresh = config.rtsp_vod_cache_fresh;
    for (const auto& mount : config.rtsp_mounts) {
        proxy::MountConfig out;
        out.name = mount.name;
        // parse_config / parse_mount_spec checked the URL already.
        if (auto url = rtsp::parse_url(mount.url)) out.url = std::move(*url);
        if (!mount.user.empty()) {
            out.url.user = mount.user;
            out.url.password = mount.password;
        }
        out.transport = mount.transport == "udp"    ? proxy::UpstreamTransport::udp
                        : mount.transport == "tcp"  ? proxy::UpstreamTransport::tcp
                        : mount.transport == "http" ? proxy::UpstreamTransport::http
                        : mount.transport == "ws"   ? proxy::UpstreamTransport::websocket
                                                    : proxy::UpstreamTransport::automatic;
        out.always_on = mount.always_on;
        out.tls_verify = mount.tls_verify;
        out.vod_cache = mount.vod_cache;
        out.tls_ca = mount.tls_ca;
        if (!mount.multicast_group.empty()) {
            out.multicast_group = asio::ip::make_address(mount.multicast_group);  // checked by parse_config
            out.multicast_port = static_cast<std::uint16_t>(mount.multicast_port);
        }
        out.publish = mount.publish;
        out.publish_user = mount.publish_user;
        out.publish_password = mount.publish_password;
        out.publish_takeover = mount.publish_takeover;
        out.gop_cache.max_bytes = mount.gop_cache_bytes.value_or(config.rtsp_gop_cache_bytes);
        out.gop_cache.max_packets = mount.gop_cache_packets.value_or(config.rtsp_gop_cache_packets);
        out.gop_burst_rate =
            std::uint64_t{mount.gop_burst_kbps.value_or(config.rtsp_gop_burst_kbps)} * 1000U / 8U;
        options.mounts.push_back(std::move(out));
    }
    return options;
}

// Opens the RTSP and RTSPS proxy listeners; false when some were configured and none could be opened, or
// when the RTSPS listeners' certificate cannot be loaded.
bool open_rtsp_proxy(proxy::RtspProxy& rtsp_proxy, const GatewayConfig& config,
                     std::vector<std::string>& listeners) {
    std::shared_ptr<asio::ssl::context> tls;
    if (!config.rtsp_tls_listeners.empty()) {
        std::string error = "rtsps listeners need [rtsp] tls_cert and tls_key (--tls-cert, --tls-key)";
        if (!config.rtsp_tls_certificate.empty() && !config.rtsp_tls_key.empty())
            tls = tls::make_server_context(config.rtsp_tls_certificate, config.rtsp_tls_key, error);
        if (!tls) {
            spdlog::error("rtsps: {}", error);
            return false;
        }
    }
    if (!config.rtsp_vod_cache_dir.empty()) {
        std::string error;
        if (!rtsp_proxy.open_vod_cache(error)) {
            spdlog::error("rtsp vod cache: {}", error);
            return false;
        }
    }
    std::size_t listening = 0;
    for (const auto& [scheme, hosts] :
         {std::pair{"rtsp", &config.rtsp_listeners}, std::pair{"rtsps", &config.rtsp_tls_listeners}}) {
        for (const auto& hp : *hosts) {
            const auto endpoint = net::to_tcp_endpoint(hp);
            std::string error = endpoint ? "" : std::string(endpoint.error());
            const auto bound =
                endpoint
                    ? rtsp_proxy.listen(*endpoint, error, scheme == std::string_view("rtsps") ? tls : nullptr)
                    : std::nullopt;
            if (!bound) {
                spdlog::warn("{} listener {}: {}", scheme, net::to_string(hp), error);
                continue;
            }
            spdlog::info("{} proxy listening on {} ({} mounts)", scheme, net::to_string(*bound),
                         config.rtsp_mounts.size());
            listeners.push_back(std::string(scheme) + " " + net::to_string(*bound));
            ++listening;
        }
    }
    for (const auto& mount : config.rtsp_mounts)
        spdlog::info("rtsp mount {} -> {} (upstream {}{})", mount.name,
                     rtsp::parse_url(mount.url) ? rtsp::to_string(*rtsp::parse_url(mount.url)) : "?",
                     mount.transport, mount.always_on ? ", always on" : "");
    if (listening > 0) rtsp_proxy.start();
    return listening > 0 || (config.rtsp_listeners.empty() && config.rtsp_tls_listeners.empty());
}

void open_admin(metrics::AdminServer& admin, const net::HostPort& where,
                std::vector<std::string>& listeners) {
    const auto endpoint = net::to_tcp_endpoint(where);
    if (!endpoint) {
        spdlog::error("admin listener {}: {}", net::to_string(where), endpoint.error());
        return;
    }
    std::string error;
    const auto bound = admin.listen(*endpoint, error);
    // AdminServer logs where it listens.
    if (!bound) {
        spdlog::error("admin listener {}: {}", net::to_string(where), error);
        return;
    }
    listeners.push_back("admin " + net::to_string(*bound));
}

// The listeners, the admin listener and the ALG's ports stay as they started: a reload that changes them
// reports so, and the running values stay the ones the next reload compares against.
void keep_fixed_settings(const GatewayConfig& running, GatewayConfig& fresh) {
    fresh.socks_listeners = running.socks_listeners;
    fresh.admin = running.admin;
    fresh.admin_token_file = running.admin_token_file;
    fresh.rtsp_listeners = running.rtsp_listeners;
    fresh.rtsp_tls_listeners = running.rtsp_tls_listeners;
    fresh.rtsp_tls_certificate = running.rtsp_tls_certificate;
    fresh.rtsp_tls_key = running.rtsp_tls_key;
    fresh.alg_port_first = running.alg_port_first;
    fresh.alg_port_last = running.alg_port_last;
    fresh.alg_session_timeout = running.alg_session_timeout;
    fresh.threads = running.threads;
}

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items)
        out += (out.empty() ? "" : ", ") + item;
    return out.empty() ? "nothing" : out;
}

}  // namespace

int run_gateway(const GatewayConfig& config, const ConfigLoader& reload, const std::string& config_file) {
    net::raise_descriptor_limit("sessions", 2);  // a relayed connection holds two
    // One event loop per thread (socks/server.hpp). Loop 0 also runs the SOCKS acceptors, the admin API,
    // the RTSP proxy with its mounts, and the signals; SOCKS sessions are spread over all loops. Each loop
    // is an io_context run by one thread (hint 1), so its relays' pipe pool and timers are its own.
    const unsigned loop_count =
        config.threads != 0 ? config.threads : std::max(1U, std::thread::hardware_concurrency());
    std::vector<std::unique_ptr<asio::io_context>> loops;
    std::vector<asio::io_context*> loop_list;
    std::vector<asio::executor_work_guard<asio::io_context::executor_type>> keep_running;
    for (unsigned i = 0; i < loop_count; ++i) {
        loops.push_back(std::make_unique<asio::io_context>(1));
        loop_list.push_back(loops.back().get());
        if (i != 0) keep_running.push_back(asio::make_work_guard(*loops.back()));
    }
    asio::io_context& io = *loops.front();
    const auto stop_loops = [&] {
        for (auto& loop : loops)
            loop->stop();
    };
    metrics::Registry registry(metrics::Registry::OnError::record);
    metrics::register_process_metrics(registry);
    const auto rtsp_alg = make_rtsp_alg(config, registry);
    socks::Server server(loop_list, with_alg(server_options(config), config, rtsp_alg), &registry);
    if (config.alg_enabled) {
        spdlog::info("rtsp alg on: udp media ports {}-{}", config.alg_port_first, config.alg_port_last);
    }
    metrics::AdminOptions admin_options;
    if (!config.admin_token_file.empty()) {
        std::string error;
        const auto token = read_admin_token(config.admin_token_file, error);
        if (!token) {
            spdlog::error("admin token: {}", error);
            return 2;
        }
        admin_options.token = *token;
    }
    gateway_api::GatewayApiContext api;
    api.version = STREAMGATE_VERSION;
    if (!config_file.empty()) {
        std::error_code ec;
        const auto absolute = std::filesystem::absolute(config_file, ec);
        api.config_file = ec ? config_file : absolute.string();
    }
    api.socks = &server;
    api.alg = rtsp_alg.get();
    api.loops = loop_list;
    metrics::AdminServer admin(io, registry, admin_options);
    gateway_api::add_gateway_api(admin, api);
    dashboard::add_dashboard(admin);  // the web page at /
    // Metrics are an aid, not the service: without the admin port the gateway still serves (error logged).
    if (config.admin) open_admin(admin, *config.admin, api.listeners);

    std::size_t listening = 0;
    for (const auto& hp : config.socks_listeners) {
        const auto endpoint = net::to_tcp_endpoint(hp);
        if (!endpoint) {
            spdlog::error("socks listener {}: {}", net::to_string(hp), endpoint.error());
            return 2;
        }
        std::string error;
        const auto bound = server.listen(*endpoint, error);
        if (!bound) {
            // One family may be missing on this host (e.g. IPv6 disabled): serve on the others.
            spdlog::warn("socks listener {}: {}", net::to_string(hp), error);
            continue;
        }
        spdlog::info("socks5 listening on {}", net::to_string(*bound));
        api.listeners.push_back("socks " + net::to_string(*bound));
        ++listening;
    }
    if (listening == 0) {
        spdlog::error("no SOCKS listener could be opened");
        return 1;
    }
    const auto& multicast = config.rtsp_multicast;
    if (!multicast.interface.empty() && ::if_nametoindex(multicast.interface.c_str()) == 0) {
        spdlog::error("[rtsp] multicast_interface {}: no such interface", multicast.interface);
        return 1;
    }
    if (multicast.v4 || multicast.v6) spdlog::info("rtsp mounts offer multicast: {}", multicast.to_string());
    net::set_segmentation_enabled(config.udp_segmentation);
    // The mounts run on loop 0; a large UDP fan-out borrows helper threads, by default one per other loop.
    net::ForkJoinPool fanout_pool(config.rtsp_fanout_threads.value_or(loops.size() - 1));
    auto proxy_options = rtsp_proxy_options(config);
    proxy_options.fanout_pool = &fanout_pool;
    proxy::RtspProxy rtsp_proxy(io, std::move(proxy_options), &registry);
    api.rtsp = &rtsp_proxy;
    if (!open_rtsp_proxy(rtsp_proxy, config, api.listeners)) {
        spdlog::error("no RTSP listener could be opened");
        return 1;
    }
    log_admission(config);
    if (!config.rtsp_users.empty() && !config.rtsp_listeners.empty())
        spdlog::info("rtsp players need Digest auth ({} accounts, realm \"{}\")", config.rtsp_users.size(),
                     config.rtsp_realm);

    // SIGHUP: reload what can change without dropping sessions. Listeners stay as they are.
    const auto reloads = [&](std::string_view result) -> metrics::Counter& {
        return registry.counter(
            "streamgate_config_reloads_total",
            "SIGHUP reloads of the configuration, by result (error: the running one stays)",
            {{"result", std::string(result)}});
    };
    reloads("ok");
    reloads("error");
    // SIGHUP and `POST /api/v1/reload` do the same; `trigger` names which in the log.
    GatewayConfig running = config;
    const auto reload_now = [&](std::string_view trigger) {
        gateway_api::ReloadOutcome outcome;
        std::string error;
        auto fresh = reload(error);
        api.last_reload_unix = static_cast<std::int64_t>(std::time(nullptr));
        if (!fresh) {
            spdlog::error("{}: {}", trigger, error);
            reloads("error").inc();
            spdlog::error("{}: configuration not reloaded; keeping the running one", trigger);
            constexpr std::string_view k_prefix = "streamgate: ";
            outcome.error = error.starts_with(k_prefix) ? error.substr(k_prefix.size()) : error;
            api.last_reload = outcome;
            return outcome;
        }
        outcome.applied = true;
        outcome.changes = describe_changes(running, *fresh);
        if (fresh->socks_listeners != running.socks_listeners || fresh->admin != running.admin ||
            fresh->rtsp_listeners != running.rtsp_listeners ||
            fresh->rtsp_tls_listeners != running.rtsp_tls_listeners ||
            fresh->rtsp_tls_certificate != running.rtsp_tls_certificate ||
            fresh->rtsp_tls_key != running.rtsp_tls_key) {
            spdlog::warn("{}: listener changes need a restart; keeping the current listeners", trigger);
        }
        keep_fixed_settings(running, *fresh);
        server.update_options(with_alg(server_options(*fresh), *fresh, rtsp_alg));
        rtsp_proxy.reload(rtsp_proxy_options(*fresh));
        reloads("ok").inc();
        spdlog::set_level(spdlog::level::from_str(fresh->log_level));
        spdlog::info("{}: configuration reloaded ({} sessions running; changed: {})", trigger,
                     server.active_sessions(), join(outcome.changes));
        log_admission(*fresh);
        running = std::move(*fresh);
        api.last_reload = outcome;
        return outcome;
    };
    api.reload = [&reload_now] { return reload_now("admin api reload"); };
    asio::signal_set hangups(io, SIGHUP);
    std::function<void(const asio::error_code&, int)> on_hangup = [&](const asio::error_code& ec, int) {
        if (ec) return;
        reload_now("SIGHUP");
        hangups.async_wait(on_hangup);
    };
    hangups.async_wait(on_hangup);

    // First signal: stop accepting and drain; second signal or the drain deadline: close what is left.
    asio::signal_set signals(io, SIGINT, SIGTERM);
    asio::steady_timer drain_timer(io);
    bool draining = false;
    // Closing a session is posted to its own loop, and its coroutine then ends and writes its session-end
    // line there: the loops stop once every session is gone (the check below), or after this grace if one
    // hangs.
    constexpr auto k_close_grace = std::chrono::seconds(2);
    std::optional<std::chrono::steady_clock::time_point> closing_since;
    const auto close_sessions = [&] {
        server.close_sessions();
        if (!closing_since) closing_since = std::chrono::steady_clock::now();
    };
    std::function<void(const asio::error_code&, int)> on_signal = [&](const asio::error_code& ec, int signo) {
        if (ec) return;
        if (draining) {
            spdlog::info("signal {} again: closing {} sessions now", signo, server.active_sessions());
            close_sessions();
            return;
        }
        draining = true;
        spdlog::info("signal {}: stopped accepting; draining {} sessions (up to {}s)", signo,
                     server.active_sessions(), config.drain_timeout.count());
        server.stop_accepting();
        rtsp_proxy.shutdown();  // players get an RTCP BYE now: their upstreams cannot outlive the gateway
        admin.stop();
        signals.async_wait(on_signal);
        drain_timer.expires_after(config.drain_timeout);
        drain_timer.async_wait([&](const asio::error_code& timer_ec) {
            if (timer_ec) return;
            spdlog::info("drain period over: closing {} sessions", server.active_sessions());
            close_sessions();
        });
    };
    signals.async_wait(on_signal);

    // Poll for the end of the drain: the io_context would otherwise keep running on the timer alone.
    asio::steady_timer idle_check(io);
    net::poll_until(
        idle_check, std::chrono::milliseconds(100),
        [&] {
            return draining &&
                   (server.active_sessions() == 0 ||
                    (closing_since && std::chrono::steady_clock::now() - *closing_since > k_close_grace));
        },
        [&] {
            if (server.active_sessions() != 0)
                spdlog::warn("{} sessions did not close within {}s; stopping anyway",
                             server.active_sessions(), k_close_grace.count());
            stop_loops();
        });

    spdlog::info("gateway: {} event loops, {} fan-out helper threads", loops.size(), fanout_pool.helpers());
    std::vector<std::thread> threads;
    for (std::size_t i = 1; i < loops.size(); ++i)
        threads.emplace_back([&loop = *loops[i]] { loop.run(); });
    io.run();
    stop_loops();  // io.run() also returns when loop 0 runs out of work
    for (auto& thread : threads)
        thread.join();
    rtsp_proxy.shutdown();  // idempotent; ends what is left before the registry and loop go away
    spdlog::info("gateway stopped");
    return 0;
}

}  // namespace sg::app
