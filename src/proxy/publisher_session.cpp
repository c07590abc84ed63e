#include "proxy/publisher_session.hpp"

#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <memory>

#include "net/asio_endpoint.hpp"
#include "net/udp_batch.hpp"
#include "net/unhandled.hpp"
#include "net/use_tuple.hpp"

namespace sg::proxy {
namespace {

std::string_view without_trailing_slashes(std::string_view uri) {
    while (!uri.empty() && uri.back() == '/')
        uri.remove_suffix(1);
    return uri;
}

}  // namespace

PublisherSession::PublisherSession(std::string id, std::shared_ptr<Mount> mount, std::string peer,
                                   const asio::ip::address& peer_address, MountDescription description,
                                   std::vector<std::string> control_urls, std::weak_ptr<PlayerSink> sink)
    : id_(std::move(id)),
      mount_(std::move(mount)),
      peer_(std::move(peer)),
      peer_address_(net::unmap(peer_address)),
      description_(std::move(description)),
      sink_(std::move(sink)) {
    tracks_.resize(control_urls.size());
    for (std::size_t i = 0; i < tracks_.size(); ++i)
        tracks_[i].control_url = std::move(control_urls[i]);
}

PublisherSession::~PublisherSession() {
    stop("gone");
}

std::optional<std::size_t> PublisherSession::track_of(std::string_view uri) const {
    uri = without_trailing_slashes(uri.substr(0, uri.find('?')));
    for (std::size_t i = 0; i < tracks_.size(); ++i)
        if (without_trailing_slashes(tracks_[i].control_url) == uri) return i;
    return std::nullopt;
}

bool PublisherSession::any_set_up() const noexcept {
    for (const auto& track : tracks_)
        if (track.set_up) return true;
    return false;
}

void PublisherSession::set_up(std::size_t track, PublisherTrack transport) {
    auto& slot = tracks_[track];
    transport.control_url = std::move(slot.control_url);
    slot = std::move(transport);
    slot.set_up = true;
}

void PublisherSession::record() {
    if (stopped_ || recording_ || !description_) return;
    recording_ = true;
    mount_->feed_start(std::move(*description_));
    description_.reset();
    for (std::size_t i = 0; i < tracks_.size(); ++i) {
        if (!tracks_[i].udp) continue;
        for (const bool rtcp : {false, true})
            asio::co_spawn(tracks_[i].udp->rtp.get_executor(), receive_udp(shared_from_this(), i, rtcp),
                           net::log_unhandled(net::Unhandled::publisher_media));
    }
    spdlog::info("rtsp publisher {} mount {} session {} recording ({} tracks)", peer_, mount_->name(), id_,
                 tracks_.size());
}

void PublisherSession::on_packet(std::size_t track, bool rtcp, std::span<const std::uint8_t> data) {
    if (!recording_ || stopped_) return;
    touch();
    if (rtcp) {
        mount_->feed_rtcp(track, data);
        return;
    }
    ++packets_;
    bytes_ += data.size();
    mount_->feed_rtp(track, data);
}

void PublisherSession::on_interleaved(std::uint8_t channel, std::span<const std::uint8_t> payload) {
    for (std::size_t i = 0; i < tracks_.size(); ++i) {
        const auto& track = tracks_[i];
        if (!track.set_up || !track.tcp) continue;
        if (channel != track.rtp_channel && channel != track.rtcp_channel) continue;
        // The frames of one read form a receive batch, as an upstream's do (Mount::begin_batch): the
        // players' writes wait for on_interleaved_done().
        if (recording_ && !stopped_) mount_->begin_batch();
        return on_packet(i, channel == track.rtcp_channel, payload);
    }
}

void PublisherSession::on_interleaved_done() {
    if (mount_->batching()) mount_->end_batch();
}

asio::awaitable<void> PublisherSession::receive_udp(std::shared_ptr<PublisherSession> self, std::size_t track,
                                                    bool rtcp) {
    // A burst's datagrams side by side: the players' datagrams point into them until the burst's end.
    const auto storage = std::make_unique_for_overwrite<std::uint8_t[]>(net::k_burst_buffer_size);
    const std::span<std::uint8_t> buffer(storage.get(), net::k_burst_buffer_size);
    for (;;) {
        auto& slot = self->tracks_[track];
        if (self->stopped_ || !slot.udp) co_return;
        auto& socket = rtcp ? slot.udp->rtcp : slot.udp->rtp;
        asio::ip::udp::endpoint from;
        auto [ec, n] = co_await socket.async_receive_from(
            asio::buffer(buffer.data(), net::k_max_udp_datagram), from, net::k_use_tuple);
        if (self->stopped_ || ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor)
            co_return;
        if (ec) continue;  // e.g. ICMP port unreachable reported on the socket
        // What else is queued is taken now, as a mount's upstream reader does: the players' writes then
        // come once per burst (a video frame's packets) instead of once per packet.
        self->mount_->begin_batch(true);
        net::take_burst(socket, buffer, n, from,
                        [&](std::span<const std::uint8_t> data, const asio::ip::udp::endpoint& sender) {
                            // Media only from the publisher's host: nobody else can inject packets into
                            // every player's stream.
                            if (net::unmap(sender.address()) != self->peer_address_) {
                                ++self->foreign_;
                            } else {
                                self->on_packet(track, rtcp, data);
                            }
                            return !self->stopped_;
                        });
        self->mount_->end_batch();
    }
}

void PublisherSession::stop(std::string_view reason) {
    if (stopped_) return;
    stopped_ = true;
    for (auto& track : tracks_) {
        if (!track.udp) continue;
        asio::error_code ignored;
        track.udp->rtp.close(ignored);
        track.udp->rtcp.close(ignored);
    }
    // A batch this session began (its connection closing amid a read's frames) is written before the
    // players end.
    if (mount_->batching()) mount_->end_batch();
    mount_->release_publisher(this, reason);
    const auto seconds = std::chrono::duration<double>(Clock::now() - created_).count();
    spdlog::info(
        "rtsp publisher {} mount {} session {} ended: {} ({} packets, {} bytes, {} foreign, {:.1f} s)",
        describe_publisher(), mount_->name(), id_, reason, packets_, bytes_, foreign_, seconds);
}

void PublisherSession::end_from_mount(std::string_view reason) {
    stop(reason);
    if (const auto sink = sink_.lock()) sink->close_after_flush(std::string(reason));
}

}  // namespace sg::proxy
