#pragma once
// One mount of the RTSP proxy listener (`--mount NAME=URL`): the upstream RTSP session it plays and the
// players it fans that session out to. Players of one mount share one upstream session; the upstream is
// started by the first DESCRIBE (or at start for always-on mounts), kept alive with GET_PARAMETER (OPTIONS
// when refused), reconnected after a failure while players remain, rolled over from UDP to interleaved TCP
// when `auto` gets no media, and torn down shortly after its last player left.
//
// Everything runs on the gateway's first event loop: the fan-out is a plain loop over the subscribed
// players, and each player's send never blocks (non-blocking UDP sends, a bounded TCP write queue), so a
// slow player loses its own packets and never stalls the others. Only the system calls of a large fan-out
// leave the loop: a UDP fan-out's sendmmsg runs (fanout_port.hpp) and the TCP players' sends at the end of a
// receive batch (end_batch) are shared with helper threads while the loop waits.

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/udp.hpp>
#include <asio/ssl/context.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "client/presentation.hpp"
#include "client/rtsp_client.hpp"
#include "metrics/registry.hpp"
#include "multicast/allocator.hpp"
#include "proxy/fanout_port.hpp"
#include "proxy/mount_config.hpp"
#include "restream/bitrate_meter.hpp"
#include "restream/gop_cache.hpp"
#include "restream/key_frame.hpp"
#include "restream/upstream_reception.hpp"
#include "restream/upstream_silence.hpp"
#include "rtp/rtcp.hpp"
#include "rtsp/digest_server.hpp"
#include "rtsp/url.hpp"
#include "vod_cache/recording.hpp"
#include "vod_cache/store.hpp"

namespace sg::proxy {

struct MountTiming {
    std::chrono::milliseconds request_timeout{5000};  // connect and each upstream request
    std::chrono::milliseconds first_media{3000};      // `auto`: no RTP this long after PLAY -> TCP
    std::chrono::milliseconds linger{5000};           // on-demand upstream kept this long without players
    std::chrono::milliseconds reconnect_window{
        6000};  // a lost upstream is retried this long, then players end
    std::chrono::milliseconds report_interval{5000};  // RTCP SRs to players, RRs upstream
};

// Prometheus series of one mount (label mount="NAME").
struct MountMetrics {
    metrics::Counter* upstream_started = nullptr;
    metrics::Counter* upstream_failed = nullptr;
    metrics::Gauge* players_active = nullptr;
    metrics::Counter* players_total = nullptr;
    metrics::Counter* rtp_packets = nullptr;
    metrics::Counter* rtp_bytes = nullptr;
    metrics::Counter* dropped = nullptr;
    metrics::Counter* upstream_silent = nullptr;   // playing upstreams lost to silence
    metrics::Counter* upstream_bye = nullptr;      // playing upstreams that said RTCP BYE
    metrics::Counter* publishers_total = nullptr;  // ANNOUNCEs that took the mount (publish mounts)
    metrics::Counter* gop_starts = nullptr;        // players started from the GOP cache
    metrics::Gauge* multicast_groups = nullptr;    // groups streaming or waiting for a PLAY now
    metrics::Counter* multicast_groups_total = nullptr;
    metrics::Counter* multicast_members_total = nullptr;  // member SETUPs that joined a group
    static MountMetrics create(metrics::Registry* registry, const std::string& mount);
};

class PlayerSession;
class PlayerSink;

// What the admin API shows of a mount.
struct MountSnapshot {
    std::string name;
    std::string url;        // without credentials
    std::string transport;  // configured: "udp", "tcp" or "auto"
    bool always_on = false;
    std::string state;               // "idle", "connecting", "playing", "failed"
    std::string upstream_transport;  // what the playing upstream uses; "" when not playing
    std::size_t players = 0;         // players fed by the upstream: PLAY received (paused too), not ended
    std::uint64_t bitrate_bps = 0;   // upstream RTP, last second
    std::string last_error;          // why the last upstream attempt failed or ended; "" if none
    std::string publisher;           // publish mounts: the publisher's address ("" if none)
};

// What players are told about the mount: the upstream SDP (rewritten per player by mount_sdp) and the
// clock rate of each track.
struct MountDescription {
    std::string upstream_sdp;
    std::vector<std::uint32_t> clock_rates;
    std::vector<bool> wait_key_frame;  // per track: a new player starts at a key frame (key_frame.hpp)
};

// The publisher of a publish mount (MountConfig::publish; proxy/publisher_session.hpp), as the mount sees it.
class MountPublisher {
public:
    virtual ~MountPublisher() = default;
    // The mount ends its publisher (another one took the mount over, or the mount was removed): the
    // publisher closes its connection and releases the mount.
    virtual void end_from_mount(std::string_view reason) = 0;
    // Who publishes, for the admin API: "ADDRESS:PORT" (and " user NAME" when authenticated).
    virtual std::string describe_publisher() const = 0;
};

class MountMulticast;
struct VodCache;

class Mount : public std::enable_shared_from_this<Mount> {
public:
    using Clock = std::chrono::steady_clock;

    Mount(asio::any_io_executor executor, MountConfig config, MountTiming timing, MountMetrics metrics);
    Mount(const Mount&) = delete;
    Mount& operator=(const Mount&) = delete;

    const std::string& name() const noexcept { return config_.name; }
    const MountMetrics& metrics() const noexcept { return metrics_; }
    MountSnapshot snapshot(Clock::time_point now) const;

    // Starts the upstream if needed and waits (bounded) until it plays. Nothing when it failed; `why` says
    // so for the log.
    asio::awaitable<std::optional<MountDescription>> describe(std::string& why);
    // The description while the upstream plays.
    const std::optional<MountDescription>& description() const noexcept { return description_; }

    void subscribe(PlayerSession* player);
    void unsubscribe(PlayerSession* player);

    // How fast a joining player's cached GOP goes out (MountConfig::gop_burst_rate); 0: at once.
    std::uint64_t gop_burst_rate() const noexcept { return config_.gop_burst_rate; }
    // A subscribed player starts a paced GOP burst: it sends its first share now, and the rest every
    // k_pace_tick (PlayerSession::catch_up) until it has reached the live packets or leaves.
    void start_catch_up(PlayerSession* player);
    static constexpr std::chrono::milliseconds k_pace_tick{5};

    // The server port pair that track `track`'s UDP players of `family` share (fanout_port.hpp), opened by
    // the first of them; nothing when no pair can be bound (`error` says why).
    std::shared_ptr<FanoutPort> fanout_port(std::size_t track, asio::ip::udp family, std::string& error);
    // A player queued a datagram on `port`: it goes out with everything else queued for the same upstream
    // packet (or the same held receive burst, begin_batch) at the next flush_fanout().
    void fanout_queued(const std::shared_ptr<FanoutPort>& port);
    void flush_fanout();
    // A receive batch (several upstream packets read at once, mount_upstream.cpp): the interleaved TCP
    // players' media queued during it is written at its end, one send per player, shared with the fan-out
    // helpers when there are many players, instead of waking each connection's writer (tcp_deferred lists
    // a player's connection once per batch). When the batch's packets stay readable until its end
    // (`payloads_held`, net::take_burst), the UDP players' datagrams wait for it too: one flush per batch,
    // so a frame's packets to one player leave as one segmented message (FanoutPort::flush).
    void begin_batch(bool payloads_held = false) noexcept {
        batching_ = true;
        holding_fanout_ = payloads_held;
    }
    void end_batch();
    bool batching() const noexcept { return batching_; }
    void tcp_deferred(std::shared_ptr<PlayerSink> sink) { tcp_deferred_.push_back(std::move(sink)); }
    // Connections end_batch() has written to so far, each once per batch whatever the batch held.
    std::uint64_t batched_tcp_writes() const noexcept { return batched_tcp_writes_; }
    // Connections per part of end_batch's writes: up to this many, the loop writes them alone.
    static constexpr std::size_t k_tcp_writes_per_part = 64;
    // Helpers for large fan-outs (RtspProxyOptions::fanout_pool), given to the ports opened from now on.
    void set_fanout_pool(net::ForkJoinPool* pool) noexcept { fanout_pool_ = pool; }

    // The mount's multicast group of the family (mount_multicast.hpp), allocated from `allocator` by its
    // first member's SETUP; null with `error` when the range has no free group or port block.
    std::shared_ptr<MountMulticast> multicast_group(
        bool v6, const std::shared_ptr<multicast::MulticastAllocator>& allocator, std::size_t tracks,
        std::string& error);
    // The mount has a configured group (MountConfig::multicast_group) of the family.
    bool has_fixed_group(bool v6) const noexcept {
        return config_.multicast_group && config_.multicast_group->is_v6() == v6;
    }
    const asio::any_io_executor& executor() const noexcept { return executor_; }

    // The upstream's RTP timestamp of track `track` estimated for `when` (the last packet's timestamp moved
    // by the time between its arrival and `when`, which may be earlier; exactly the cached key frame's
    // timestamp at its arrival), to start a player's tracks in sync; nothing before the first packet.
    std::optional<std::uint32_t> upstream_timestamp_at(std::size_t track, Clock::time_point when) const;
    // The GOP cache of `track`, if the track has one (gop_cache.hpp).
    const GopCache* gop_cache(std::size_t track) const;
    // Where a player joining now starts: the arrival of the earliest cached key frame among the video tracks
    // whose GOP cache holds one; nothing when none does (the player then waits for the next key frame).
    std::optional<Clock::time_point> join_point() const;
    // The codec whose key frames a player's track waits for (none: it starts at once).
    VideoCodec key_frame_codec(std::size_t track) const;
    // The upstream's last sender report of `track`, if any since the upstream (re)started.
    std::optional<rtp::SenderInfo> upstream_sender_report(std::size_t track) const;

    // Fed mounts (MountConfig::fed): the process plays the upstream's part. feed_start() publishes the
    // description (DESCRIBE answers from then on; until then it waits up to `first_media`), feed_rtp() fans
    // one RTP packet of `track` out to the players, stop() ends them.
    void feed_start(MountDescription description);
    void feed_rtp(std::size_t track, std::span<const std::uint8_t> packet) {
        on_rtp(track, packet, Clock::now());
    }
    void feed_rtcp(std::size_t track, std::span<const std::uint8_t> packet) { on_rtcp(track, packet); }
    // The process or a publisher feeds the media: no RTSP upstream is played.
    bool fed() const noexcept { return config_.fed || config_.publish; }

    // Publish mounts (MountConfig::publish). The Digest server publishers authenticate with (set by the
    // proxy from publish_user/publish_password; null: publishers are not authenticated).
    bool publishable() const noexcept { return config_.publish && !stopping_; }
    // Ends the publisher (it closes its connection and releases the mount, whose players end with it); false
    // when nobody publishes.
    bool end_publisher(std::string_view reason);
    void set_publish_auth(std::shared_ptr<const rtsp::DigestServer> auth) { publish_auth_ = std::move(auth); }
    const std::shared_ptr<const rtsp::DigestServer>& publish_auth() const noexcept { return publish_auth_; }
    // Whether claim_publisher() would take a new publisher now.
    bool accepts_publisher() const noexcept {
        return publishable() && (publisher_ == nullptr || config_.publish_takeover);
    }
    // Makes `publisher` the mount's one publisher. False when another one publishes and the mount does not
    // allow a takeover; with publish_takeover the other one is ended first, its players with it.
    bool claim_publisher(MountPublisher* publisher);
    // The publisher is gone: its players end with `reason`, and the mount waits for the next publisher.
    void release_publisher(MountPublisher* publisher, std::string_view reason);

    // The VOD cache (mount_vod.hpp), for a mount configured with vod_cache; null: none.
    void set_vod_cache(std::shared_ptr<VodCache> cache);
    // Whether a DESCRIBE now is answered from the mount's recording (checked against the upstream first
    // when it is older than the cache's `fresh`).
    asio::awaitable<bool> serve_from_cache();
    // The recording players of the mount are served from, if there is one.
    std::optional<std::filesystem::path> cached_file() const;

    void start_always_on();
    // A reload changed only `always_on`: the running upstream stays (start_always_on() starts it).
    void set_always_on(bool always_on);
    // Gateway shutdown: tears the upstream down and ends the players.
    void shutdown() { stop("gateway shutdown"); }
    // Ends the mount for good (shutdown, or removed or changed by a reload): tears the upstream down and
    // ends the players, each logged with `reason`.
    void stop(std::string reason);

private:
    struct UpstreamTrack {
        std::uint32_t clock_rate = 90000;
        std::optional<std::uint32_t> last_timestamp;
        Clock::time_point last_arrival{};
        std::optional<rtp::SenderInfo> last_sr;
        std::optional<UpstreamReception> reception;  // for the receiver reports sent upstream
        VideoCodec codec = VideoCodec::none;
        std::optional<GopCache> gop;
    };
    struct Attempt;
    enum class State : std::uint8_t { idle, connecting, playing, failed };
    enum class Outcome : std::uint8_t { idle, no_media, lost, refused };

    enum class UpstreamCheck : std::uint8_t { unchanged, changed, unreachable };
    // How to connect to the upstream (its TLS context made at the first call); nothing with `error` set.
    std::optional<client::ConnectOptions> upstream_options(std::string& error);
    asio::awaitable<UpstreamCheck> check_upstream(const vod::EntryInfo& recorded);
    // The VOD cache's recording of this pass (mount_vod.cpp).
    void start_recording(const client::Presentation& presentation, const rtsp::Response& describe,
                         const rtsp::Response& play);
    void feed_recording(std::size_t track, std::span<const std::uint8_t> packet, Clock::time_point now);
    void end_recording(bool complete, std::string_view why);

    // One UpstreamTrack per track of `description`, with its clock rate, codec and an empty GOP cache.
    void assign_tracks(const MountDescription& description);
    void start_upstream();
    asio::awaitable<void> run_upstream();
    asio::awaitable<Outcome> play_once(std::shared_ptr<Attempt> attempt, bool tcp);
    asio::awaitable<bool> set_up_tracks(Attempt& attempt, bool tcp);
    asio::awaitable<Outcome> stream(Attempt& attempt, bool tcp);
    static asio::awaitable<void> receive_udp(std::shared_ptr<Mount> self, std::shared_ptr<Attempt> attempt,
                                             std::size_t track, bool rtcp);
    asio::awaitable<void> report_loop();
    asio::awaitable<void> pace_loop();
    // The bytes each catching-up player may send per tick.
    std::size_t pace_share(Clock::time_point now) const noexcept;
    void send_upstream_reports(Attempt& attempt);
    void set_state(State state);
    void on_rtp(std::size_t track, std::span<const std::uint8_t> packet, Clock::time_point now);
    void on_rtcp(std::size_t track, std::span<const std::uint8_t> packet);
    void on_upstream_bye();
    void end_players(std::string_view reason);
    bool wanted(Clock::time_point now) const;

    asio::any_io_executor executor_;
    MountConfig config_;
    MountTiming timing_;
    MountMetrics metrics_;
    State state_ = State::idle;
    bool running_ = false;  // the upstream coroutine exists
    // A publish mount's report_loop ends when its publisher goes; the next publisher starts a new one.
    std::uint64_t report_generation_ = 0;
    MountPublisher* publisher_ = nullptr;
    std::shared_ptr<const rtsp::DigestServer> publish_auth_;
    bool stopping_ = false;
    std::string failure_;
    std::shared_ptr<Attempt> current_;
    asio::steady_timer state_changed_;
    asio::steady_timer report_timer_;
    std::optional<MountDescription> description_;
    std::vector<UpstreamTrack> tracks_;
    std::vector<PlayerSession*> players_;
    std::vector<PlayerSession*> delivering_;   // on_rtp's copy of players_ (reused)
    std::vector<PlayerSession*> catching_up_;  // players in a paced GOP burst (null: left during a turn)
    asio::steady_timer pace_timer_;
    bool pace_running_ = false;
    std::map<std::pair<std::size_t, bool>, std::weak_ptr<FanoutPort>> fanout_ports_;  // (track, IPv6)
    std::vector<std::shared_ptr<FanoutPort>> fanout_pending_;
    bool batching_ = false;
    bool holding_fanout_ = false;  // the UDP fan-out is flushed at the batch's end
    std::vector<std::shared_ptr<PlayerSink>> tcp_deferred_;
    std::uint64_t batched_tcp_writes_ = 0;
    net::ForkJoinPool* fanout_pool_ = nullptr;
    std::map<bool, std::weak_ptr<MountMulticast>> multicast_groups_;  // by family (IPv6)
    Clock::time_point idle_since_ = Clock::now();
    Attempt* attempt_for_media_ = nullptr;  // the attempt whose media is fanned out
    bool got_media_ = false;
    bool upstream_tcp_ = false;  // the transport of the playing attempt
    BitrateMeter bitrate_;
    std::optional<UpstreamSilence> silence_;            // of the playing attempt
    std::shared_ptr<asio::ssl::context> upstream_tls_;  // rtsps:// upstreams: made at the first attempt
    std::string stop_reason_;
    std::shared_ptr<VodCache> vod_;
    std::string vod_key_;
    std::unique_ptr<vod::Recording> recording_;
    std::filesystem::path recording_file_;  // where recording_ writes until it is stored
    vod::EntryInfo recording_info_;
};

}  // namespace sg::proxy
