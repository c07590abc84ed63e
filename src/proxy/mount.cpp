#include "proxy/mount.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/co_spawn.hpp>

#include "net/unhandled.hpp"
#include "net/use_tuple.hpp"
#include "proxy/mount_multicast.hpp"
#include "proxy/player_session.hpp"
#include "restream/mount_sdp.hpp"
#include "rtp/rtp_packet.hpp"

namespace sg::proxy {

MountMetrics MountMetrics::create(metrics::Registry* registry, const std::string& mount) {
    static metrics::Registry fallback(metrics::Registry::OnError::record);
    auto& r = registry != nullptr ? *registry : fallback;
    const metrics::Labels labels{{"mount", mount}};
    MountMetrics m;
    m.upstream_started = &r.counter("streamgate_rtsp_proxy_upstream_sessions_started_total",
                                    "Upstream RTSP sessions that reached PLAY", labels);
    m.upstream_failed = &r.counter("streamgate_rtsp_proxy_upstream_sessions_failed_total",
                                   "Upstream RTSP sessions that could not be started or were lost", labels);
    m.players_active =
        &r.gauge("streamgate_rtsp_proxy_players_active", "Player sessions on the mount", labels);
    m.players_total = &r.counter("streamgate_rtsp_proxy_players_total", "Player sessions created", labels);
    m.rtp_packets =
        &r.counter("streamgate_rtsp_proxy_rtp_packets_total", "RTP packets relayed to players", labels);
    m.rtp_bytes = &r.counter("streamgate_rtsp_proxy_rtp_bytes_total", "RTP bytes relayed to players", labels);
    m.dropped = &r.counter("streamgate_rtsp_proxy_dropped_packets_total",
                           "RTP packets dropped because a player could not take them", labels);
    m.upstream_silent = &r.counter("streamgate_rtsp_proxy_upstream_lost_total",
                                   "Playing upstream sessions given up and reconnected: silent or RTCP BYE",
                                   {{"mount", mount}, {"reason", "silence"}});
    m.upstream_bye = &r.counter("streamgate_rtsp_proxy_upstream_lost_total",
                                "Playing upstream sessions given up and reconnected: silent or RTCP BYE",
                                {{"mount", mount}, {"reason", "bye"}});
    m.publishers_total = &r.counter("streamgate_rtsp_proxy_publishers_total",
                                    "Publishers that took the mount with ANNOUNCE", labels);
    m.gop_starts = &r.counter("streamgate_rtsp_proxy_gop_starts_total",
                              "Players started at once from the mount's GOP cache", labels);
    m.multicast_groups =
        &r.gauge("streamgate_rtsp_proxy_multicast_groups",
                 "Multicast groups the mount streams to now (one per address family at most)", labels);
    m.multicast_groups_total = &r.counter("streamgate_rtsp_proxy_multicast_groups_total",
                                          "Multicast groups the mount started", labels);
    m.multicast_members_total =
        &r.counter("streamgate_rtsp_proxy_multicast_members_total",
                   "Player sessions that joined a multicast group of the mount", labels);
    return m;
}

Mount::Mount(asio::any_io_executor executor, MountConfig config, MountTiming timing, MountMetrics metrics)
    : executor_(std::move(executor)),
      config_(std::move(config)),
      timing_(timing),
      metrics_(metrics),
      state_changed_(executor_),
      report_timer_(executor_),
      pace_timer_(executor_) {}

void Mount::set_state(State state) {
    state_ = state;
    state_changed_.cancel();  // wakes describe() waiters
}

asio::awaitable<std::optional<MountDescription>> Mount::describe(std::string& why) {
    const auto self = shared_from_this();
    // A player between DESCRIBE and PLAY holds the upstream for one linger period.
    idle_since_ = Clock::now();
    if (state_ == State::playing && description_) co_return description_;
    if (fed()) {
        const auto until = Clock::now() + timing_.first_media;
        while (state_ != State::playing && !stopping_ && Clock::now() < until) {
            state_changed_.expires_at(until);
            co_await state_changed_.async_wait(net::k_use_tuple);
        }
        if (state_ == State::playing && description_) co_return description_;
        why = config_.publish ? "no publisher" : "no media fed yet";
        co_return std::nullopt;
    }
    if (state_ == State::idle || state_ == State::failed) start_upstream();
    // Bounded: at most the connect, DESCRIBE, SETUPs and PLAY of one attempt, plus a UDP-to-TCP rollover.
    const auto deadline = Clock::now() + 6 * timing_.request_timeout + timing_.first_media;
    while (state_ == State::connecting && Clock::now() < deadline) {
        state_changed_.expires_at(deadline);
        co_await state_changed_.async_wait(net::k_use_tuple);
    }
    idle_since_ = Clock::now();
    if (state_ == State::playing && description_) co_return description_;
    why = state_ == State::connecting ? "upstream timeout" : failure_;
    co_return std::nullopt;
}

void Mount::subscribe(PlayerSession* player) {
    if (std::find(players_.begin(), players_.end(), player) == players_.end()) players_.push_back(player);
}

std::shared_ptr<FanoutPort> Mount::fanout_port(std::size_t track, asio::ip::udp family, std::string& error) {
    auto& slot = fanout_ports_[{track, family == asio::ip::udp::v6()}];
    if (auto port = slot.lock(); port && !port->closed()) return port;
    auto port = FanoutPort::open(executor_, family, error);
    if (port) port->set_send_pool(fanout_pool_);
    slot = port;
    return port;
}

void Mount::fanout_queued(const std::shared_ptr<FanoutPort>& port) {
    if (std::find(fanout_pending_.begin(), fanout_pending_.end(), port) == fanout_pending_.end())
        fanout_pending_.push_back(port);
}

void Mount::flush_fanout() {
    // Flushing tells players what became of their datagrams, which may end one of them: swap first.
    auto pending = std::move(fanout_pending_);
    fanout_pending_.clear();
    for (const auto& port : pending)
        port->flush();
}

void Mount::end_batch() {
    batching_ = false;
    if (holding_fanout_) {
        holding_fanout_ = false;
        flush_fanout();
    }
    if (tcp_deferred_.empty()) return;
    const auto sinks = std::move(tcp_deferred_);
    tcp_deferred_.clear();
    batched_tcp_writes_ += sinks.size();
    const std::size_t parts = (sinks.size() + k_tcp_writes_per_part - 1) / k_tcp_writes_per_part;
    const auto write_part = [&sinks](std::size_t part) {
        const std::size_t end = std::min(sinks.size(), (part + 1) * k_tcp_writes_per_part);
        for (std::size_t i = part * k_tcp_writes_per_part; i < end; ++i)
            sinks[i]->write_deferred();
    };
    // The helpers touch nothing but each connection's own queue and socket, while the loop waits here. One
    // part (or no free helper) runs on the loop alone: the pool's own rule.
    if (fanout_pool_ != nullptr) {
        fanout_pool_->run(parts, write_part);
    } else {
        for (std::size_t part = 0; part < parts; ++part)
            write_part(part);
    }
    for (const auto& sink : sinks)
        sink->end_deferred();
}

std::shared_ptr<MountMulticast> Mount::multicast_group(
    bool v6, const std::shared_ptr<multicast::MulticastAllocator>& allocator, std::size_t tracks,
    std::string& error) {
    auto& slot = multicast_groups_[v6];
    if (auto group = slot.lock()) return group;
    std::optional<multicast::MulticastLease> lease;
    const bool fixed = has_fixed_group(v6);
    if (fixed) {
        // The configured group; its ports run up from multicast_port, two per track.
        lease = multicast::MulticastLease{
            *config_.multicast_group, config_.multicast_port,
            static_cast<std::uint16_t>(std::min<std::size_t>(2 * tracks, 65536U - config_.multicast_port)),
            0};
    } else {
        lease = allocator->allocate(v6, tracks);
    }
    if (!lease) {
        error = "no free multicast group or port block in the range";
        return nullptr;
    }
    auto group = std::make_shared<MountMulticast>(shared_from_this(), *lease, fixed ? nullptr : allocator,
                                                  allocator->settings(), tracks);
    slot = group;
    return group;
}

void Mount::unsubscribe(PlayerSession* player) {
    std::erase(players_, player);
    // Nulled, not erased: pace_loop may be walking the list (it drops the null entries after its turn).
    std::replace(catching_up_.begin(), catching_up_.end(), player, static_cast<PlayerSession*>(nullptr));
    if (players_.empty()) idle_since_ = Clock::now();
}

std::size_t Mount::pace_share(Clock::time_point now) const noexcept {
    // At least twice the stream's own rate, so a joiner always catches up with the live packets (within a
    // GOP: the cache keeps the previous one readable), and at least one full packet per tick.
    constexpr std::size_t k_min_share = 1500;
    const std::uint64_t rate = std::max(config_.gop_burst_rate, bitrate_.bits_per_second(now) / 4U);
    const auto share = rate * static_cast<std::uint64_t>(k_pace_tick.count()) / 1000U;
    return std::max<std::size_t>(static_cast<std::size_t>(share), k_min_share);
}

void Mount::start_catch_up(PlayerSession* player) {
    const auto now = Clock::now();
    const bool more = player->catch_up(pace_share(now), now);
    flush_fanout();
    if (!more) return;  // the whole burst fit in the first share
    if (std::find(catching_up_.begin(), catching_up_.end(), player) == catching_up_.end())
        catching_up_.push_back(player);
    if (pace_running_) return;
    pace_running_ = true;
    asio::co_spawn(executor_, pace_loop(), net::log_unhandled(net::Unhandled::mount_report));
}

asio::awaitable<void> Mount::pace_loop() {
    const auto self = shared_from_this();
    while (!catching_up_.empty() && !stopping_) {
        pace_timer_.expires_after(k_pace_tick);
        co_await pace_timer_.async_wait(net::k_use_tuple);
        const auto now = Clock::now();
        const std::size_t share = pace_share(now);
        // Indexes, not iterators: a player that leaves meanwhile is nulled by unsubscribe(), and one that
        // joins is appended; neither invalidates an index.
        for (std::size_t i = 0; i < catching_up_.size(); ++i) {
            PlayerSession* player = catching_up_[i];
            if (player != nullptr && !player->catch_up(share, now)) catching_up_[i] = nullptr;
        }
        std::erase(catching_up_, static_cast<PlayerSession*>(nullptr));
        flush_fanout();
    }
    pace_running_ = false;
}

bool Mount::wanted(Clock::time_point now) const {
    return config_.always_on || !players_.empty() || now - idle_since_ < timing_.linger;
}

std::optional<std::uint32_t> Mount::upstream_timestamp_at(std::size_t track, Clock::time_point when) const {
    if (track >= tracks_.size() || !tracks_[track].last_timestamp) return std::nullopt;
    const auto& t = tracks_[track];
    if (t.gop && t.gop->ready() && t.gop->packets().front().arrival == when)
        return t.gop->packets().front().timestamp;
    const auto elapsed_us =
        std::chrono::duration_cast<std::chrono::microseconds>(when - t.last_arrival).count();
    // Signed: `when` may lie before the last arrival (a start from the GOP cache); modulo 2^32 either way.
    const auto ticks = elapsed_us * static_cast<std::int64_t>(t.clock_rate) / 1000000;
    return *t.last_timestamp + static_cast<std::uint32_t>(ticks);
}

const GopCache* Mount::gop_cache(std::size_t track) const {
    if (track >= tracks_.size() || !tracks_[track].gop) return nullptr;
    return &*tracks_[track].gop;
}

std::optional<Mount::Clock::time_point> Mount::join_point() const {
    std::optional<Clock::time_point> earliest;
    for (const auto& t : tracks_) {
        if (t.codec == VideoCodec::none || !t.gop || !t.gop->ready()) continue;
        const auto start = t.gop->packets().front().arrival;
        if (!earliest || start < *earliest) earliest = start;
    }
    return earliest;
}

VideoCodec Mount::key_frame_codec(std::size_t track) const {
    return track < tracks_.size() ? tracks_[track].codec : VideoCodec::none;
}

void Mount::assign_tracks(const MountDescription& description) {
    const auto encodings = mount_track_encodings(description.upstream_sdp);
    tracks_.assign(description.clock_rates.size(), UpstreamTrack{});
    for (std::size_t i = 0; i < tracks_.size(); ++i) {
        auto& t = tracks_[i];
        t.clock_rate = description.clock_rates[i];
        t.codec = i < encodings.size() ? proxy::key_frame_codec(encodings[i]) : VideoCodec::none;
        t.gop.emplace(t.codec, config_.gop_cache);
    }
}

std::optional<rtp::SenderInfo> Mount::upstream_sender_report(std::size_t track) const {
    if (track >= tracks_.size()) return std::nullopt;
    return tracks_[track].last_sr;
}

void Mount::on_rtp(std::size_t track, std::span<const std::uint8_t> packet, Clock::time_point now) {
    if (track >= tracks_.size()) return;
    const auto view = rtp::parse_rtp(Bytes(packet.data(), packet.size()));
    if (!view) return;
    got_media_ = true;
    bitrate_.add(packet.size(), now);
    if (silence_) silence_->on_packet(now);
    tracks_[track].last_timestamp = view->timestamp();
    tracks_[track].last_arrival = now;
    auto& reception = tracks_[track].reception;
    if (!reception) reception.emplace(tracks_[track].clock_rate, now);
    reception->on_rtp(view->ssrc(), view->sequence(), view->timestamp(), now);
    std::optional<std::uint64_t> cached;  // the packet's serial in the GOP cache, if it holds it
    if (auto& gop = tracks_[track].gop) cached = gop->add(packet, now);
    if (recording_) feed_recording(track, packet, now);
    // Players may leave while we deliver (a too-slow TCP player is cut off): iterate over a copy, kept in a
    // member so the copy costs no allocation per packet.
    delivering_.assign(players_.begin(), players_.end());
    for (auto* player : delivering_)
        player->deliver(track, packet, now, cached);
    if (!holding_fanout_) flush_fanout();
}

void Mount::on_rtcp(std::size_t track, std::span<const std::uint8_t> packet) {
    if (track >= tracks_.size()) return;
    const auto compound = rtp::parse_compound(Bytes(packet.data(), packet.size()));
    if (!compound) return;
    for (const auto& part : *compound) {
        if (part.type == rtp::RtcpType::bye) on_upstream_bye();
        if (part.type != rtp::RtcpType::sr) continue;
        const auto sr = rtp::parse_sender_report(part);
        if (!sr) continue;
        tracks_[track].last_sr = sr->sender;
        if (auto& reception = tracks_[track].reception)
            reception->on_sender_report(sr->ssrc, sr->sender.ntp_timestamp, Clock::now());
    }
}

void Mount::end_players(std::string_view reason) {
    const auto players = players_;
    for (auto* player : players)
        player->end_from_mount(reason);
    players_.clear();
    idle_since_ = Clock::now();
}

asio::awaitable<void> Mount::report_loop() {
    const auto self = shared_from_this();
    const auto generation = report_generation_;
    while (running_ && generation == report_generation_) {
        report_timer_.expires_after(timing_.report_interval);
        co_await report_timer_.async_wait(net::k_use_tuple);
        if (!running_ || generation != report_generation_) co_return;
        for (auto* player : players_)
            if (player->playing()) player->send_reports(false);
        if (current_) send_upstream_reports(*current_);
    }
}

MountSnapshot Mount::snapshot(Clock::time_point now) const {
    static constexpr std::string_view k_states[] = {"idle", "connecting", "playing", "failed"};
    MountSnapshot s;
    s.name = config_.name;
    s.url = config_.publish ? "" : rtsp::to_string(config_.url);  // never the credentials
    s.transport = config_.publish                                     ? "publish"
                  : config_.transport == UpstreamTransport::udp       ? "udp"
                  : config_.transport == UpstreamTransport::tcp       ? "tcp"
                  : config_.transport == UpstreamTransport::http      ? "http"
                  : config_.transport == UpstreamTransport::websocket ? "ws"
                                                                      : "auto";
    s.always_on = config_.always_on;
    s.state = std::string(k_states[static_cast<std::size_t>(state_)]);
    if (state_ == State::playing && !fed()) s.upstream_transport = upstream_tcp_ ? "tcp" : "udp";
    s.players = players_.size();
    s.bitrate_bps = state_ == State::playing ? bitrate_.bits_per_second(now) : 0;
    s.last_error = failure_;
    if (publisher_ != nullptr) s.publisher = publisher_->describe_publisher();
    return s;
}

void Mount::start_always_on() {
    if (config_.always_on && state_ == State::idle) start_upstream();
}

void Mount::set_always_on(bool always_on) {
    // Turned off, the upstream keeps going while players remain and lingers out as an on-demand one.
    config_.always_on = always_on;
}

bool Mount::end_publisher(std::string_view reason) {
    if (publisher_ == nullptr) return false;
    publisher_->end_from_mount(reason);
    // end_from_mount() releases the mount; a publisher that could not (already closing) is let go here.
    if (publisher_ != nullptr) release_publisher(publisher_, reason);
    return true;
}

bool Mount::claim_publisher(MountPublisher* publisher) {
    if (!publishable()) return false;
    if (publisher_ != nullptr && publisher_ != publisher) {
        if (!config_.publish_takeover) return false;
        // end_from_mount() releases the mount (release_publisher), which ends the old publisher's players.
        publisher_->end_from_mount("taken over by another publisher");
        if (publisher_ != nullptr) release_publisher(publisher_, "taken over by another publisher");
    }
    publisher_ = publisher;
    return true;
}

void Mount::release_publisher(MountPublisher* publisher, std::string_view reason) {
    if (publisher_ != publisher || publisher == nullptr) return;
    publisher_ = nullptr;
    end_players(fmt::format("publisher gone: {}", reason));
    description_.reset();
    tracks_.clear();
    failure_ = fmt::format("publisher gone: {}", reason);
    running_ = false;
    ++report_generation_;
    report_timer_.cancel();
    if (!stopping_) set_state(State::idle);
}

void Mount::feed_start(MountDescription description) {
    if (!fed() || stopping_) return;
    assign_tracks(description);
    description_ = std::move(description);
    metrics_.upstream_started->inc();
    if (!running_) {
        running_ = true;  // for report_loop: players get their RTCP SRs as from an RTSP upstream
        asio::co_spawn(executor_, report_loop(), net::log_unhandled(net::Unhandled::mount_report));
    }
    set_state(State::playing);
}

void Mount::start_upstream() {
    if (fed() || running_ || stopping_) return;
    running_ = true;
    failure_.clear();
    set_state(State::connecting);
    asio::co_spawn(executor_, run_upstream(), net::log_unhandled(net::Unhandled::mount_upstream));
    asio::co_spawn(executor_, report_loop(), net::log_unhandled(net::Unhandled::mount_report));
}

}  // namespace sg::proxy
