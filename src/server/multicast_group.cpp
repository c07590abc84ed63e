#include "server/multicast_group.hpp"

#include <spdlog/spdlog.h>

#include <asio/post.hpp>

#include "multicast/sender_options.hpp"

namespace sg::server {

MulticastGroup::MulticastGroup(MulticastKey key, multicast::MulticastLease lease,
                               std::shared_ptr<Session> engine)
    : key_(std::move(key)),
      lease_(std::move(lease)),
      engine_(std::move(engine)),
      engine_executor_(engine_->executor()) {}

MulticastTrack MulticastGroup::set_up_track(std::size_t track, UdpPortAllocator& ports,
                                            const multicast::MulticastSettings& settings) {
    MulticastTrack result;
    if (track >= engine_->track_count() || 2 * track + 1 >= lease_.port_count) return result;
    result.rtp_port = static_cast<std::uint16_t>(lease_.port_first + 2 * track);
    result.ssrc = engine_->ssrc(track);
    if (engine_->is_set_up(track)) {
        result.ok = true;
        return result;
    }
    // Bound to the unspecified address: the route to the group (or the configured interface) picks the
    // source, whichever of our addresses the players reached us on.
    const bool v6 = lease_.group.is_v6();
    const asio::ip::address any =
        v6 ? asio::ip::address(asio::ip::address_v6::any()) : asio::ip::address(asio::ip::address_v4::any());
    TrackTransport transport;
    transport.udp = ports.allocate(engine_executor_, any);
    if (!transport.udp) return result;
    if (multicast::set_sender_options(transport.udp->rtp, v6, settings) ||
        multicast::set_sender_options(transport.udp->rtcp, v6, settings))
        return result;
    transport.multicast = true;
    transport.client_rtp = {lease_.group, result.rtp_port};
    transport.client_rtcp = {lease_.group, static_cast<std::uint16_t>(result.rtp_port + 1)};
    engine_->set_up(track, std::move(transport));
    result.ok = true;
    return result;
}

PlayPosition MulticastGroup::start_playing() {
    ++playing_;
    if (engine_->state() == SessionState::playing) return engine_->position_now();
    // Resumes where the stream paused (from the start for a new group); an ended file starts over.
    auto position = engine_->play(std::nullopt);
    if (position) return *position;
    return engine_->position_now();
}

void MulticastGroup::stop_playing() {
    if (playing_ > 0 && --playing_ == 0) engine_->pause();
}

SessionStats MulticastGroup::end() {
    engine_->stop("last member left");
    return engine_->stats();
}

MulticastRegistry::MulticastRegistry(multicast::MulticastSettings settings)
    : allocator_(std::move(settings)) {}

std::shared_ptr<MulticastGroup> MulticastRegistry::join_existing(const MulticastKey& key) {
    const std::lock_guard lock(mutex_);
    const auto it = groups_.find(key);
    if (it == groups_.end()) return nullptr;
    ++it->second->members_;
    ++members_joined;
    return it->second;
}

std::shared_ptr<MulticastGroup> MulticastRegistry::join_or_create(const MulticastKey& key,
                                                                  std::shared_ptr<Session> engine) {
    const std::lock_guard lock(mutex_);
    auto it = groups_.find(key);
    if (it == groups_.end()) {
        const auto lease = allocator_.allocate(key.v6, engine->track_count());
        if (!lease) return nullptr;
        auto group = std::make_shared<MulticastGroup>(key, *lease, std::move(engine));
        it = groups_.emplace(key, std::move(group)).first;
        ++groups_started;
        spdlog::info("multicast group {} started: path={} ports={}-{} ttl={}", lease->group.to_string(),
                     key.path, lease->port_first, lease->port_first + lease->port_count - 1, settings().ttl);
    }
    ++it->second->members_;
    ++members_joined;
    return it->second;
}

void MulticastRegistry::pause(const std::shared_ptr<MulticastGroup>& group) {
    asio::post(group->executor(), [group] { group->stop_playing(); });
}

void MulticastRegistry::leave(const std::shared_ptr<MulticastGroup>& group, bool was_playing) {
    bool last = false;
    {
        const std::lock_guard lock(mutex_);
        const auto it = groups_.find(group->key());
        if (it == groups_.end() || it->second != group) return;  // cleared at shutdown
        if (--group->members_ == 0) {
            allocator_.release(group->lease());
            groups_.erase(it);
            last = true;
        }
    }
    asio::post(group->executor(), [this, group, was_playing, last] {
        if (was_playing) group->stop_playing();
        if (!last) return;
        const auto stats = group->end();
        packets += stats.packets;
        bytes += stats.octets;
        ++groups_ended;
    });
}

void MulticastRegistry::clear() {
    const std::lock_guard lock(mutex_);
    groups_.clear();
}

}  // namespace sg::server
