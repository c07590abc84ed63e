// RtspProxy::reload: a SIGHUP's new configuration applied to the running proxy. The mount table changes by
// the pure diff of mount_table_diff.hpp; players of a mount whose upstream changed are ended (their RTSP
// connection closed after an RTCP BYE) rather than moved over, because the new upstream may describe
// different tracks and players re-DESCRIBE when they reconnect.

#include <spdlog/spdlog.h>

#include <asio/dispatch.hpp>

#include "proxy/mount_table_diff.hpp"
#include "proxy/rtsp_proxy.hpp"

namespace sg::proxy {

void RtspProxy::reload(RtspProxyOptions fresh) {
    // Mounts, players and the connection context belong to the proxy's executor; the signal handler may run
    // elsewhere.
    asio::dispatch(io_, [this, fresh = std::move(fresh)]() mutable { apply(std::move(fresh)); });
}

void RtspProxy::apply(RtspProxyOptions fresh) {
    const auto diff = diff_mount_tables(options_.mounts, fresh.mounts);
    for (const auto& name : diff.removed) {
        const auto it = mounts_.find(name);
        if (it == mounts_.end()) continue;
        spdlog::info("rtsp mount {} removed by reload", name);
        it->second->stop("mount removed by reload");
        mounts_.erase(it);
    }
    for (const auto& config : diff.restarted) {
        auto& slot = mounts_[config.name];
        spdlog::info("rtsp mount {} -> {} changed by reload: restarting its upstream", config.name,
                     rtsp::to_string(config.url));
        if (slot) slot->stop("mount changed by reload");
        slot = make_mount(config);
        if (started_) slot->start_always_on();
    }
    for (const auto& config : diff.added) {
        spdlog::info("rtsp mount {} -> {} added by reload", config.name, rtsp::to_string(config.url));
        auto mount = make_mount(config);
        if (started_) mount->start_always_on();
        mounts_[config.name] = std::move(mount);
    }
    for (const auto& config : diff.retuned) {
        const auto it = mounts_.find(config.name);
        if (it == mounts_.end()) continue;
        it->second->set_always_on(config.always_on);
        if (started_) it->second->start_always_on();
    }

    // Connections read the context on every request: the new accounts and timeout apply at once.
    const bool users_changed = fresh.users != options_.users || fresh.realm != options_.realm;
    fresh.timing = options_.timing;
    fresh.fanout_pool = options_.fanout_pool;
    fresh.multicast = options_.multicast;  // groups in use keep their addresses: a restart changes them
    options_ = std::move(fresh);
    context_->session_timeout = options_.session_timeout;
    caps_.set_caps(options_.caps);  // admitted connections stay; new ones meet the new caps
    if (users_changed) {
        std::string error;
        auto auth = make_auth(error);
        // The configuration loader checked the accounts; should they still not make a server, the old ones
        // stay rather than leaving the mounts open.
        if (error.empty()) {
            context_->auth = std::move(auth);
            spdlog::info("rtsp player accounts reloaded ({} accounts)", options_.users.size());
        } else {
            spdlog::error("rtsp player accounts not reloaded: {}", error);
        }
    }
}

}  // namespace sg::proxy
