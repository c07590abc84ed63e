#include "proxy/mount_multicast.hpp"

#include <spdlog/spdlog.h>

#include <asio/post.hpp>

#include "proxy/mount.hpp"
#include "proxy/player_session.hpp"

namespace sg::proxy {

MountMulticast::MountMulticast(std::shared_ptr<Mount> mount, multicast::MulticastLease lease,
                               std::shared_ptr<multicast::MulticastAllocator> allocator,
                               multicast::MulticastSettings settings, std::size_t tracks)
    : mount_(std::move(mount)),
      lease_(std::move(lease)),
      allocator_(std::move(allocator)),
      settings_(std::move(settings)) {
    const std::string group = lease_.group.to_string();
    // No sink: the group session has no RTSP connection of its own.
    session_ = std::make_shared<PlayerSession>("group-" + group, mount_, "multicast " + group, tracks,
                                               std::weak_ptr<PlayerSink>());
    mount_->metrics().multicast_groups->inc();
    mount_->metrics().multicast_groups_total->inc();
    spdlog::info("rtsp mount {} multicast group {} started: ports {}-{} ttl {}", mount_->name(), group,
                 lease_.port_first, lease_.port_first + lease_.port_count - 1, ttl());
}

MountMulticast::~MountMulticast() {
    session_->stop("last member left");
    mount_->metrics().multicast_groups->dec();
    if (allocator_) allocator_->release(lease_);
    // The session may be on the call stack that ended the last member (a mount ending all its players walks
    // a list that holds it): it is released once that has returned.
    asio::post(mount_->executor(), [session = std::move(session_)] {});
}

std::optional<std::uint32_t> MountMulticast::set_up_track(std::size_t track, std::uint32_t clock_rate,
                                                          bool wait_key_frame, std::string& error) {
    auto& tracks = session_->tracks();
    if (track >= tracks.size() || 2 * track + 1 >= lease_.port_count) {
        error = "track outside the group's port block";
        return std::nullopt;
    }
    if (tracks[track].set_up && tracks[track].rewriter) return tracks[track].rewriter->ssrc();
    const bool v6 = lease_.group.is_v6();
    auto port = mount_->fanout_port(track, v6 ? asio::ip::udp::v6() : asio::ip::udp::v4(), error);
    if (!port) return std::nullopt;
    if (const auto ec = port->set_multicast_options(v6, settings_)) {
        error = "cannot send to the group: " + ec.message();
        return std::nullopt;
    }
    PlayerTrack transport;
    transport.multicast = true;
    transport.fanout = std::move(port);
    transport.client_rtp = {lease_.group, rtp_port(track)};
    transport.client_rtcp = {lease_.group, static_cast<std::uint16_t>(rtp_port(track) + 1)};
    session_->set_up(track, std::move(transport), clock_rate, wait_key_frame);
    return session_->tracks()[track].rewriter->ssrc();
}

void MountMulticast::join() {
    if (playing_++ != 0) return;
    session_->play();
    // A first start from the GOP cache: the burst goes to the group once this member's PLAY reply (whose
    // RTP-Info names the burst's first packet) is queued, i.e. after the handler running now.
    if (session_->join_burst_pending())
        asio::post(mount_->executor(), [session = session_] { session->send_join_burst(); });
}

void MountMulticast::leave() {
    if (playing_ > 0 && --playing_ == 0) session_->pause();
}

}  // namespace sg::proxy
