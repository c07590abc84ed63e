#include "proxy/player_session.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <random>

#include "proxy/mount.hpp"
#include "proxy/mount_multicast.hpp"
#include "restream/key_frame.hpp"
#include "rtp/rtcp.hpp"
#include "rtp/rtp_packet.hpp"

namespace sg::proxy {
namespace {

constexpr std::string_view k_cname = "streamgate-proxy";

std::uint64_t ntp_now() {
    return rtp::to_ntp(std::chrono::system_clock::now());
}

}  // namespace

PlayerSession::PlayerSession(std::string id, std::shared_ptr<Mount> mount, std::string peer,
                             std::size_t track_count, std::weak_ptr<PlayerSink> sink)
    : id_(std::move(id)), mount_(std::move(mount)), peer_(std::move(peer)), sink_(std::move(sink)) {
    tracks_.resize(track_count);
    mount_->metrics().players_total->inc();
    mount_->metrics().players_active->inc();
}

PlayerSession::~PlayerSession() {
    stop("gone");
}

bool PlayerSession::any_set_up() const noexcept {
    for (const auto& track : tracks_)
        if (track.set_up) return true;
    return false;
}

PlayerSnapshot PlayerSession::snapshot(Clock::time_point now) const {
    return PlayerSnapshot{id_,      mount_->name(), peer_,  user_,    transport_name(),
                          playing_, packets_,       bytes_, dropped_, now - created_};
}

std::string PlayerSession::transport_name() const {
    for (const auto& track : tracks_)
        if (track.set_up) return track.multicast ? "multicast" : track.tcp ? "tcp" : "udp";
    return "none";
}

void PlayerSession::set_up(std::size_t track, PlayerTrack transport, std::uint32_t clock_rate,
                           bool wait_key_frame) {
    auto& slot = tracks_[track];
    slot = std::move(transport);
    slot.set_up = true;
    slot.waiting_for_key_frame = wait_key_frame;
    if (slot.fanout) slot.fanout_lane = slot.fanout->attach(slot.client_rtcp, this);
    static thread_local std::mt19937 random{std::random_device{}()};
    PlayerStart start;
    start.ssrc = static_cast<std::uint32_t>(random());
    start.seq = static_cast<std::uint16_t>(random());
    start.timestamp = static_cast<std::uint32_t>(random());
    slot.rewriter.emplace(start, clock_rate);
}

void PlayerSession::set_up_member(std::size_t track, std::shared_ptr<MountMulticast> group) {
    if (!multicast_) mount_->metrics().multicast_members_total->inc();
    multicast_ = std::move(group);
    tracks_[track].set_up = true;
    tracks_[track].multicast = true;
}

void PlayerSession::play() {
    if (stopped_) return;
    if (multicast_) {
        if (!joined_) multicast_->join();
        joined_ = true;
        playing_ = true;
        // Subscribed though it receives nothing here: a mount that ends, ends its members too.
        if (!subscribed_) mount_->subscribe(this);
        subscribed_ = true;
        return;
    }
    const auto now = Clock::now();
    bool started = false;
    for (const auto& track : tracks_)
        started = started || (track.rewriter && track.rewriter->started());
    // A first PLAY starts from the mount's GOP cache when it holds a key frame: every track's timestamps are
    // anchored at that key frame's arrival (lip sync kept, RTP-Info true to the first packet), and the cached
    // packets go out once the PLAY reply is queued (send_join_burst).
    const auto join = started ? std::nullopt : mount_->join_point();
    for (std::size_t i = 0; i < tracks_.size(); ++i) {
        auto& track = tracks_[i];
        if (!track.rewriter) continue;
        if (track.rewriter->started()) {
            track.rewriter->resync();  // after a PAUSE: continue the numbers
        } else if (const auto upstream_then = mount_->upstream_timestamp_at(i, join.value_or(now))) {
            track.rewriter->anchor(*upstream_then);
        }
    }
    playing_ = true;
    if (join && !subscribed_) {
        join_from_ = join;  // subscribed by send_join_burst(), right after the burst
        return;
    }
    if (!subscribed_) {
        mount_->subscribe(this);
        subscribed_ = true;
    }
}

void PlayerSession::send_join_burst() {
    if (!join_from_) return;
    const auto from = *join_from_;
    join_from_.reset();
    if (stopped_ || !playing_) return;
    const auto now = Clock::now();
    bool burst = false;
    bool paced_burst = false;
    for (std::size_t i = 0; i < tracks_.size(); ++i) {
        auto& track = tracks_[i];
        if (!track.set_up || !track.rewriter || track.rewriter->started()) continue;
        // Over TCP the connection paces the burst itself (its queue, TCP's window).
        const bool paced = mount_->gop_burst_rate() > 0 && !track.tcp;
        const auto* cache = mount_->gop_cache(i);
        // A video track whose GOP did not fit the cache waits for its next key frame, as without a cache.
        if (cache == nullptr || !cache->ready()) continue;
        for (const auto& packet : cache->packets()) {
            // Audio tails may reach back further than the video's key frame: the player starts at the latter.
            if (packet.arrival < from) continue;
            track.waiting_for_key_frame = false;
            burst = true;
            if (paced) {
                track.catch_up = packet.serial;  // the pacer sends from here
                paced_burst = true;
                break;
            }
            send_media(i, packet.bytes, now);
        }
    }
    mount_->flush_fanout();
    if (burst) mount_->metrics().gop_starts->inc();
    // A TCP player too slow for the burst was cut off (stop() ran inside deliver()): never subscribe it.
    if (stopped_) return;
    // Live packets from here on continue the cached ones (the same rewriter, nothing in between).
    if (!subscribed_) {
        mount_->subscribe(this);
        subscribed_ = true;
    }
    if (paced_burst) mount_->start_catch_up(this);
}

bool PlayerSession::catch_up(std::size_t share, Clock::time_point now) {
    const bool can_send = !stopped_ && playing_;
    std::size_t sent = 0;
    for (;;) {
        // The earliest cached packet among the tracks still catching up, so the tracks stay interleaved as
        // they arrived.
        std::size_t next_track = tracks_.size();
        const GopCache::Packet* next = nullptr;
        for (std::size_t i = 0; i < tracks_.size(); ++i) {
            auto& track = tracks_[i];
            if (!track.catch_up) continue;
            const auto* cache = mount_->gop_cache(i);
            if (!can_send || cache == nullptr || *track.catch_up >= cache->end_serial()) {
                track.catch_up.reset();  // caught up (or gone): live packets from here
                continue;
            }
            const auto* packet = cache->find(*track.catch_up);
            if (packet == nullptr) {
                // The cache moved on past this place (a new GOP began): go on from what it holds now.
                if (cache->packets().empty()) {
                    track.catch_up.reset();
                    continue;
                }
                packet = &cache->packets().front();
                track.catch_up = packet->serial;
            }
            if (next == nullptr || packet->arrival < next->arrival) {
                next = packet;
                next_track = i;
            }
        }
        if (next == nullptr) return false;
        if (sent >= share) return true;
        ++*tracks_[next_track].catch_up;
        sent += next->bytes.size();
        send_media(next_track, next->bytes, now);
        if (stopped_) return false;  // a TCP player too slow for the burst was cut off
    }
}

void PlayerSession::pause() {
    if (multicast_ && joined_) multicast_->leave();
    joined_ = false;
    playing_ = false;
}

void PlayerSession::resync() {
    for (auto& track : tracks_)
        if (track.rewriter) track.rewriter->resync();
}

void PlayerSession::send_to_player(PlayerTrack& track, bool rtcp, std::span<const std::uint8_t> data) {
    if (track.tcp) {
        const auto sink = sink_.lock();
        bool sent = false;
        if (sink && !rtcp && mount_->batching()) {
            // The mount writes it at the end of its receive batch, with the other TCP players' media.
            const bool listed = sink->deferred_pending();
            sent = sink->send_interleaved_deferred(track.rtp_channel, data);
            if (sent && !listed) mount_->tcp_deferred(sink);
        } else if (sink) {
            sent = sink->send_interleaved(rtcp ? track.rtcp_channel : track.rtp_channel, data);
        }
        if (sent) {
            consecutive_drops_ = 0;
            return;
        }
        if (rtcp) return;
        on_media_dropped();
        // A player that has not read for thousands of packets is not coming back in time: cut it off so it
        // holds no memory and its counters say why.
        if (++consecutive_drops_ == k_max_consecutive_drops && sink) sink->close_after_flush("too slow");
        return;
    }
    // UDP media goes through deliver()'s shared queue; this carries RTCP only.
    if (track.fanout && rtcp) track.fanout->send_rtcp(track.client_rtcp, data);
}

void PlayerSession::on_media_sent(std::size_t bytes) {
    ++packets_;
    bytes_ += bytes;
    mount_->metrics().rtp_packets->inc();
    mount_->metrics().rtp_bytes->inc(bytes);
}

void PlayerSession::on_media_dropped() {
    ++dropped_;
    mount_->metrics().dropped->inc();
}

void PlayerSession::deliver(std::size_t track_index, std::span<const std::uint8_t> packet,
                            Clock::time_point now, std::optional<std::uint64_t> cached) {
    if (!playing_ || track_index >= tracks_.size()) return;
    auto& track = tracks_[track_index];
    if (!track.set_up || !track.rewriter) return;
    if (track.catch_up) {
        // In a paced burst the pacer sends what the cache holds, in order. A packet the cache could not hold
        // breaks the cached run: go live from here (a gap, as a lost packet would leave).
        if (cached) return;
        track.catch_up.reset();
    }
    if (track.waiting_for_key_frame) {
        const auto view = rtp::parse_rtp(Bytes(packet.data(), packet.size()));
        if (!view || !starts_key_frame(mount_->key_frame_codec(track_index), view->payload())) return;
        track.waiting_for_key_frame = false;
    }
    send_media(track_index, packet, now);
}

void PlayerSession::send_media(std::size_t track_index, std::span<const std::uint8_t> packet,
                               Clock::time_point now) {
    auto& track = tracks_[track_index];
    if (track.fanout) {
        if (packet.size() < rtp::k_fixed_header_size) return;
        FanoutPort::Head head{};
        std::copy_n(packet.begin(), head.size(), head.begin());
        const Bytes whole(packet.data(), packet.size());
        if (!track.rewriter->rewrite_head(whole, head, now)) return;
        track.fanout->queue(track.fanout_lane, this, track.client_rtp, head, whole.subspan(head.size()));
        mount_->fanout_queued(track.fanout);
        return;
    }
    buffer_.assign(packet.begin(), packet.end());
    if (!track.rewriter->rewrite(buffer_, now)) return;
    const auto dropped_before = dropped_;
    send_to_player(track, false, buffer_);
    if (dropped_ == dropped_before) on_media_sent(buffer_.size());
}

void PlayerSession::send_reports(bool bye) {
    const auto now = Clock::now();
    const auto ntp = ntp_now();
    std::vector<std::uint8_t> compound;
    for (std::size_t i = 0; i < tracks_.size(); ++i) {
        auto& track = tracks_[i];
        if (!track.set_up || !track.rewriter) continue;
        // Only a track that has sent media has a timestamp space worth reporting; a BYE always goes.
        if (!bye && !track.rewriter->started()) continue;
        compound.clear();
        const auto info = track.rewriter->sender_info(mount_->upstream_sender_report(i), now, ntp);
        (void)rtp::append_sender_report(compound, track.rewriter->ssrc(), info);
        (void)rtp::append_sdes_cname(compound, track.rewriter->ssrc(), k_cname);
        if (bye) {
            const std::array<std::uint32_t, 1> sources{track.rewriter->ssrc()};
            (void)rtp::append_bye(compound, sources);
        }
        send_to_player(track, true, compound);
    }
}

void PlayerSession::stop(std::string_view reason) {
    if (stopped_) return;
    stopped_ = true;
    if (subscribed_) {
        mount_->unsubscribe(this);
        subscribed_ = false;
    }
    if (playing_) send_reports(true);
    playing_ = false;
    if (multicast_) {
        if (joined_) multicast_->leave();
        joined_ = false;
        multicast_.reset();  // the last member's end ends the group
    }
    for (auto& track : tracks_) {
        if (!track.fanout) continue;
        track.fanout->detach(track.client_rtcp, this, track.fanout_lane);  // the last player closes the port
        track.fanout.reset();
    }
    mount_->metrics().players_active->dec();
    const auto seconds = std::chrono::duration<double>(Clock::now() - created_).count();
    const std::string who = user_.empty() ? peer_ : peer_ + " user " + user_;
    spdlog::info(
        "rtsp player {} mount {} session {} transport {} ended: {} ({} packets, {} bytes, {} dropped, "
        "{:.1f} s)",
        who, mount_->name(), id_, transport_name(), reason, packets_, bytes_, dropped_, seconds);
}

void PlayerSession::end_from_mount(std::string_view reason) {
    stop(reason);
    if (const auto sink = sink_.lock()) sink->close_after_flush(std::string(reason));
}

}  // namespace sg::proxy
