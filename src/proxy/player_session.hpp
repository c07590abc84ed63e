#pragma once
// One player's RTSP session on a mount of the proxy listener: the tracks it set up (UDP to its client ports,
// or interleaved on its RTSP connection), an RtpRewriter per track so it sees its own SSRC, sequence and
// timestamps, and its counters for the session-end log line. The mount calls deliver() for every upstream
// packet while the player plays; nothing here blocks or awaits on that path.

#include <asio/awaitable.hpp>
#include <asio/ip/udp.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "proxy/fanout_port.hpp"
#include "restream/rtp_rewriter.hpp"

namespace sg::proxy {

class Mount;
class MountMulticast;

// Where interleaved frames go (the player's RTSP connection). send_interleaved returns false when the
// frame was dropped because the connection's queue is full.
class PlayerSink {
public:
    virtual ~PlayerSink() = default;
    virtual bool send_interleaved(std::uint8_t channel, std::span<const std::uint8_t> frame) = 0;
    // In a mount's receive batch (Mount::begin_batch): as send_interleaved, but the connection's writer is
    // not woken; the mount writes what is queued at the batch's end (write_deferred, on its loop or a
    // fan-out helper, then end_deferred on the loop). deferred_pending(): queued so since end_deferred().
    virtual bool send_interleaved_deferred(std::uint8_t channel, std::span<const std::uint8_t> frame) = 0;
    virtual bool deferred_pending() const noexcept = 0;
    virtual void write_deferred() noexcept = 0;
    virtual void end_deferred() = 0;
    // The mount is gone or the player is too slow: flush what is queued (a BYE), then close.
    virtual void close_after_flush(std::string reason) = 0;
};

struct PlayerTrack {
    bool set_up = false;
    bool tcp = false;
    std::uint8_t rtp_channel = 0;
    std::uint8_t rtcp_channel = 1;
    std::shared_ptr<FanoutPort> fanout;  // UDP: the track's server port pair, shared with its other players
    FanoutPort::Lane fanout_lane = 0;    // this player's lane on it
    asio::ip::udp::endpoint client_rtp;
    asio::ip::udp::endpoint client_rtcp;
    std::optional<RtpRewriter> rewriter;
    bool waiting_for_key_frame = false;  // a late joiner's video starts where it can be decoded
    // A paced GOP burst (Mount::start_catch_up): the serial of the next cached packet to send; live packets
    // the cache holds wait for the pacer meanwhile.
    std::optional<std::uint64_t> catch_up;
    bool multicast = false;  // a multicast member's track (set up in its group), or the group's own track
};

// What the admin API shows of a player session.
struct PlayerSnapshot {
    std::string id;
    std::string mount;
    std::string client;
    std::string user;       // the Digest user; "" without player auth
    std::string transport;  // "udp", "tcp", "none" before SETUP
    bool playing = false;
    std::uint64_t packets = 0;
    std::uint64_t bytes = 0;
    std::uint64_t dropped = 0;
    std::chrono::steady_clock::duration age{};
};

class PlayerSession : public std::enable_shared_from_this<PlayerSession> {
public:
    using Clock = std::chrono::steady_clock;

    PlayerSession(std::string id, std::shared_ptr<Mount> mount, std::string peer, std::size_t track_count,
                  std::weak_ptr<PlayerSink> sink);
    ~PlayerSession();
    PlayerSession(const PlayerSession&) = delete;
    PlayerSession& operator=(const PlayerSession&) = delete;

    const std::string& id() const noexcept { return id_; }
    Mount& mount() noexcept { return *mount_; }
    bool playing() const noexcept { return playing_; }
    std::vector<PlayerTrack>& tracks() noexcept { return tracks_; }
    bool any_set_up() const noexcept;
    PlayerSnapshot snapshot(Clock::time_point now) const;
    std::string transport_name() const;

    // Registers a UDP track with its shared port (its RTCP keeps the session alive) and starts the track's
    // rewriter.
    void set_up(std::size_t track, PlayerTrack transport, std::uint32_t clock_rate, bool wait_key_frame);
    // A multicast member's track: set up in `group` (mount_multicast.hpp), which sends for it.
    void set_up_member(std::size_t track, std::shared_ptr<MountMulticast> group);
    // The group of a multicast member; null for a unicast player.
    const std::shared_ptr<MountMulticast>& multicast() const noexcept { return multicast_; }

    // Starts playing (a multicast member joins its group's stream instead). A first PLAY on a mount whose GOP
    // cache holds a key frame starts from it: the caller queues the PLAY reply, then calls send_join_burst().
    void play();
    bool join_burst_pending() const noexcept { return join_from_.has_value(); }
    // Sends the cached packets from the join point, then joins the live packets: at once, or paced by the
    // mount (Mount::gop_burst_rate) with the live packets waiting behind them.
    void send_join_burst();
    // One share of a paced burst: sends up to `share` bytes of cached packets, the tracks' packets in their
    // arrival order. False once every track has reached the live packets (or the player stopped or paused).
    bool catch_up(std::size_t share, Clock::time_point now);
    void pause();
    // Fans one upstream packet out to this player: a TCP player gets a rewritten copy on its connection, a
    // UDP player's rewritten header is queued on the track's shared port with the packet's payload (sent by
    // the mount's flush_fanout(); `packet` must live until then). Never blocks.
    // `cached`: the packet's serial in the track's GOP cache, if the cache holds it.
    void deliver(std::size_t track, std::span<const std::uint8_t> packet, Clock::time_point now,
                 std::optional<std::uint64_t> cached = std::nullopt);
    // Counts one media packet sent to the player, or lost on the way out (a FanoutPort reports its
    // datagrams here).
    void on_media_sent(std::size_t bytes);
    void on_media_dropped();
    // The upstream restarted: every track continues its numbers from where it was.
    void resync();
    void send_reports(bool bye);
    // Ends the session: RTCP BYE, sockets closed, unsubscribed, one log line. Idempotent.
    void stop(std::string_view reason);
    // Ends it from the mount's side and closes the player's connection once the BYE is out.
    void end_from_mount(std::string_view reason);

    void touch() noexcept { last_activity_ = Clock::now(); }
    // The Digest user the player authenticated as (player auth on); named in the session-end log line.
    void set_user(std::string user) { user_ = std::move(user); }
    Clock::time_point last_activity() const noexcept { return last_activity_; }

    static constexpr std::uint32_t k_max_consecutive_drops = 2000;  // then a TCP player is cut off

private:
    // Rewrites and sends one packet of a track that plays (the key-frame wait already passed).
    void send_media(std::size_t track, std::span<const std::uint8_t> packet, Clock::time_point now);
    void send_to_player(PlayerTrack& track, bool rtcp, std::span<const std::uint8_t> data);

    std::string id_;
    std::shared_ptr<Mount> mount_;
    std::string peer_;
    std::string user_;
    std::weak_ptr<PlayerSink> sink_;
    std::vector<PlayerTrack> tracks_;
    bool playing_ = false;
    bool subscribed_ = false;
    std::shared_ptr<MountMulticast> multicast_;
    bool joined_ = false;  // a member counted as playing in its group
    bool stopped_ = false;
    std::optional<Clock::time_point> join_from_;  // play() chose a start from the GOP cache
    std::vector<std::uint8_t> buffer_;
    std::uint64_t packets_ = 0;
    std::uint64_t bytes_ = 0;
    std::uint64_t dropped_ = 0;
    std::uint32_t consecutive_drops_ = 0;
    Clock::time_point created_ = Clock::now();
    Clock::time_point last_activity_ = created_;
};

}  // namespace sg::proxy
