#include "proxy/rtsp_proxy.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <random>
#include <stdexcept>
#include <tuple>

#include "net/asio_endpoint.hpp"
#include "net/unhandled.hpp"
#include "proxy/mount_vod.hpp"

namespace sg::proxy {
namespace {

// How long a nonce is fresh. Short is fine: a connection that authenticated already keeps going on its
// nonce (see ProxyConnection::authenticate), so this only bounds how long a challenge can be answered.
constexpr std::uint64_t k_nonce_lifetime_s = 120;

}  // namespace

RtspProxy::RtspProxy(asio::io_context& io, RtspProxyOptions options, metrics::Registry* registry)
    : io_(io),
      options_(std::move(options)),
      registry_(registry),
      context_(std::make_shared<ProxyConnectionContext>()),
      caps_("rtsp proxy", options_.caps) {
    context_->session_timeout = options_.session_timeout;
    // Without ranges it hands out nothing, but still holds the TTL and interface of mounts' fixed groups.
    context_->multicast = std::make_shared<multicast::MulticastAllocator>(options_.multicast);
    context_->find_mount = [this](std::string_view name) -> std::shared_ptr<Mount> {
        const auto it = mounts_.find(name);
        return it == mounts_.end() ? nullptr : it->second;
    };
    static metrics::Registry fallback(metrics::Registry::OnError::record);
    auto& r = registry != nullptr ? *registry : fallback;
    refused_ = &r.counter("streamgate_rtsp_proxy_connections_refused_total",
                          "Player connections closed at accept: client not in the allow-list");
    connections_total_ =
        &r.counter("streamgate_rtsp_proxy_connections_total", "Player RTSP connections accepted");
    if (registry != nullptr) {
        registry->counter_callback(
            "streamgate_rtsp_proxy_connections_busy_total",
            "Player connections answered 503 and closed: over max_connections or max_connections_per_client",
            [this] { return static_cast<double>(caps_.refused().load()); });
        if (auto* pool = options_.fanout_pool; pool != nullptr) {
            registry->counter_callback(
                "streamgate_rtsp_proxy_fanout_shared_total",
                "Fan-outs large enough to be sent from several threads at once: an upstream packet's UDP "
                "datagrams, or a receive batch's writes to TCP players",
                [pool] { return static_cast<double>(pool->shared_jobs()); });
        }
    }
    context_->auth_failures = &r.counter("streamgate_rtsp_proxy_auth_failures_total",
                                         "Player requests refused with 401 for wrong Digest credentials");
    // Per-process secret: nonces of an earlier run (or another gateway) never verify.
    std::random_device random;
    for (auto& byte : nonce_secret_)
        byte = static_cast<std::uint8_t>(random());
    std::string error;
    context_->auth = make_auth(error);
    // The configuration was checked at start-up (app/config.cpp); going on without auth would leave the
    // mounts open to anyone.
    if (!error.empty()) throw std::invalid_argument(error);
    // After the secret: a publish mount's Digest server is made with it.
    for (const auto& config : options_.mounts)
        mounts_.emplace(config.name, make_mount(config));
}

std::shared_ptr<Mount> RtspProxy::make_mount(const MountConfig& config) {
    auto mount = std::make_shared<Mount>(io_.get_executor(), config, options_.timing,
                                         MountMetrics::create(registry_, config.name));
    mount->set_fanout_pool(options_.fanout_pool);
    if (config.publish && !config.publish_user.empty()) {
        auto auth =
            rtsp::DigestServer::create(options_.realm, {{config.publish_user, config.publish_password}},
                                       nonce_secret_, k_nonce_lifetime_s);
        // app/config.cpp refuses a publish user without a password; publishing without the configured
        // credentials must never be what a bad account turns into.
        if (!auth) throw std::invalid_argument("mount " + config.name + ": " + std::string(auth.error()));
        mount->set_publish_auth(std::make_shared<const rtsp::DigestServer>(std::move(*auth)));
    }
    if (context_->vod) mount->set_vod_cache(context_->vod);  // a mount a reload added
    return mount;
}

std::shared_ptr<const rtsp::DigestServer> RtspProxy::make_auth(std::string& error) const {
    if (options_.users.empty()) return nullptr;
    auto auth = rtsp::DigestServer::create(options_.realm, options_.users, nonce_secret_, k_nonce_lifetime_s);
    if (!auth) {
        error = std::string(auth.error());
        return nullptr;
    }
    return std::make_shared<const rtsp::DigestServer>(std::move(*auth));
}

RtspProxy::~RtspProxy() {
    stop_accepting();
}

std::optional<asio::ip::tcp::endpoint> RtspProxy::listen(const asio::ip::tcp::endpoint& endpoint,
                                                         std::string& error,
                                                         std::shared_ptr<asio::ssl::context> tls) {
    asio::error_code ec;
    auto acceptor = net::open_listener(io_, endpoint, ec);
    if (ec) {
        error = ec.message();
        return std::nullopt;
    }
    const auto bound = acceptor.local_endpoint();
    auto& acc = acceptors_.emplace_back(std::move(acceptor));
    auto& counters = accept_counters_.emplace_back();
    auto* tls_context = tls ? tls_contexts_.emplace_back(std::move(tls)).get() : nullptr;
    asio::co_spawn(
        io_,
        net::accept_loop(
            acc, [this, tls_context](asio::ip::tcp::socket socket) { admit(std::move(socket), tls_context); },
            counters),
        net::log_unhandled(net::Unhandled::accept_loop));
    return bound;
}

bool RtspProxy::open_vod_cache(std::string& error) {
    if (options_.vod_cache.directory.empty()) return true;
    context_->vod = make_vod_cache(options_.vod_cache, options_.session_timeout, registry_, error);
    if (!context_->vod) return false;
    for (auto& [name, mount] : mounts_)
        mount->set_vod_cache(context_->vod);
    spdlog::info("rtsp vod cache in {}: {} recordings, {} of {} bytes", options_.vod_cache.directory.string(),
                 context_->vod->store.entries(), context_->vod->store.bytes(), options_.vod_cache.max_bytes);
    return true;
}

void RtspProxy::start() {
    started_ = true;
    for (auto& [name, mount] : mounts_)
        mount->start_always_on();
}

void RtspProxy::admit(asio::ip::tcp::socket socket, asio::ssl::context* tls) {
    asio::error_code ec;
    const auto peer = socket.remote_endpoint(ec);
    if (ec) return;
    if (!net::allow_listed(options_.allow, peer.address())) {
        refused_->inc();
        refused_log_.info("rtsp player {} refused: not in the allow-list", net::to_string(peer));
        socket.close(ec);
        return;
    }
    auto slot = caps_.admit(socket, /*answer_in_plain_text=*/tls == nullptr);
    if (!slot) return;  // answered 503, closed (or already gone)
    connections_total_->inc();
    auto connection = std::make_shared<ProxyConnection>(std::move(socket), context_);
    connections_.add(connection);
    connection->hold(std::move(slot));
    if (tls != nullptr) connection->use_tls(*tls);
    connection->allow_websocket_origins(options_.websocket_origins);
    connection->start();
}

std::shared_ptr<Mount> RtspProxy::find_mount(std::string_view name) const {
    const auto it = mounts_.find(name);
    return it == mounts_.end() ? nullptr : it->second;
}

void RtspProxy::stop_accepting() {
    for (auto& acceptor : acceptors_) {
        asio::error_code ignored;
        acceptor.close(ignored);
    }
}

std::vector<MountSnapshot> RtspProxy::mounts() const {
    const auto now = std::chrono::steady_clock::now();
    std::vector<MountSnapshot> out;
    out.reserve(mounts_.size());
    for (const auto& [name, mount] : mounts_)
        out.push_back(mount->snapshot(now));
    return out;
}

std::vector<PlayerSnapshot> RtspProxy::players() const {
    const auto now = std::chrono::steady_clock::now();
    std::vector<PlayerSnapshot> out;
    for (const auto& connection : connections_.live())
        connection->append_players(out, now);
    std::sort(out.begin(), out.end(), [](const PlayerSnapshot& a, const PlayerSnapshot& b) {
        return std::tie(a.mount, a.id) < std::tie(b.mount, b.id);
    });
    return out;
}

bool RtspProxy::end_player(const std::string& id) {
    const auto live = connections_.live();
    return std::any_of(live.begin(), live.end(), [&id](const auto& c) { return c->end_player(id); });
}

bool RtspProxy::end_publisher(std::string_view mount) {
    const auto found = find_mount(mount);
    return found && found->end_publisher("ended by operator");
}

void RtspProxy::shutdown() {
    stop_accepting();
    for (const auto& connection : connections_.take())
        connection->close("gateway shutdown");
    for (auto& [name, mount] : mounts_)
        mount->shutdown();
}

}  // namespace sg::proxy
