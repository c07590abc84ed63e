#pragma once
// One RTSP session of `streamgate serve` (RFC 2326 §A.1 server state machine, Ready and Playing; Init is
// "no session"): the viewer's own MediaFile, the transport of every track set up, and the streaming
// coroutine that reads the file, paces packets by their timestamps against a steady clock, packetizes them
// and sends RTP with RTCP sender reports (RFC 3550 §6.4.1, SDES CNAME §6.5.1, BYE §6.6 at the end).

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/udp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/udp_batch.hpp"
#include "rtp/payload_list.hpp"
#include "server/media_file.hpp"
#include "server/track_packetizer.hpp"
#include "server/udp_ports.hpp"

namespace sg::server {

// Where interleaved frames go (the RTSP connection); returns false when the frame was dropped.
class InterleavedSink {
public:
    virtual ~InterleavedSink() = default;
    virtual bool send_interleaved(std::uint8_t channel, Bytes frame) = 0;
};

struct SessionStats {
    std::uint64_t packets = 0;
    std::uint64_t octets = 0;  // RTP packets as sent, headers included
    std::uint64_t dropped = 0;
};

enum class SessionState : std::uint8_t { ready, playing };

struct TrackTransport {
    bool tcp = false;
    std::uint8_t rtp_channel = 0;  // tcp
    std::uint8_t rtcp_channel = 1;
    std::unique_ptr<UdpPair> udp;  // udp: our sockets
    asio::ip::udp::endpoint client_rtp;
    asio::ip::udp::endpoint client_rtcp;
    // Multicast: for a group's stream, client_rtp/rtcp are the group's ports; for a member's session,
    // neither udp nor tcp is set (the group sends, the member only follows it).
    bool multicast = false;
};

// Trick play (RFC 2326 §12.34-35, RFC 7826 §18.46, §18.50). Scale is the viewing rate: above 1 fast forward
// (key frames only, at that pace), below 1 slow motion (every frame), negative backwards (key frame by key
// frame); the video alone is sent, and its RTP timestamps follow the viewing time, so a player shows each
// frame for as long as it is on screen at that rate. Speed is the delivery rate: the media's own timestamps,
// sent that much faster or slower.
struct PlayRate {
    double scale = 1.0;
    double speed = 1.0;
    friend bool operator==(const PlayRate&, const PlayRate&) = default;
};
// The rates serve plays: |Scale| and Speed from 1/16 to 16. Others are answered with the nearest one.
inline constexpr double k_min_play_rate = 1.0 / 16;
inline constexpr double k_max_play_rate = 16.0;

struct PlayPosition {
    double npt = 0.0;  // where playing starts, in seconds
    PlayRate rate;     // what the session plays at (the answer's Scale and Speed)
    struct Track {
        std::size_t index = 0;
        std::uint16_t seq = 0;
        std::uint32_t rtptime = 0;
    };
    std::vector<Track> tracks;  // the tracks set up
};

class Session : public std::enable_shared_from_this<Session> {
public:
    Session(asio::any_io_executor executor, std::string id, std::string path, std::string peer,
            std::unique_ptr<MediaFile> file, std::vector<TrackPacketizer> packetizers, bool loop);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    const std::string& id() const noexcept { return id_; }
    const asio::any_io_executor& executor() const noexcept { return executor_; }
    const std::string& path() const noexcept { return path_; }
    SessionState state() const noexcept { return state_; }
    std::size_t track_count() const noexcept { return tracks_.size(); }
    bool is_set_up(std::size_t track) const noexcept { return tracks_[track].transport.has_value(); }
    bool any_set_up() const noexcept;
    double duration() const noexcept { return file_->duration_seconds(); }
    std::uint32_t ssrc(std::size_t track) const noexcept { return tracks_[track].ssrc; }

    void set_up(std::size_t track, TrackTransport transport);
    void set_interleaved_sink(std::weak_ptr<InterleavedSink> sink) { sink_ = std::move(sink); }

    // Starts (or restarts, after a seek) streaming. `start` seeks; without it, playing resumes where it
    // paused. Returns the position for the Range and RTP-Info headers, or nullopt if the seek failed.
    // `rate` is what the player asked for; the answer's rate is what it gets (Scale 1 without a video track).
    std::optional<PlayPosition> play(std::optional<double> start, PlayRate rate = {});
    void pause();
    // Where the stream is now, for the RTP-Info of a player joining it (a multicast group's stream).
    PlayPosition position_now() const;
    // Stops streaming, sends RTCP BYE, closes the sockets and logs the session's end.
    void stop(std::string_view reason);

    // RTCP receiver reports and keep-alive requests keep a session alive (RFC 2326 §12.37).
    void touch() noexcept { last_activity_ = std::chrono::steady_clock::now(); }
    std::chrono::steady_clock::time_point last_activity() const noexcept { return last_activity_; }

    const SessionStats& stats() const noexcept { return stats_; }
    std::chrono::steady_clock::time_point created() const noexcept { return created_; }
    // "udp", "tcp" or "multicast": how its tracks are delivered (for the log and the admin API).
    std::string_view transport_name() const noexcept;
    const std::string& peer() const noexcept { return peer_; }

private:
    struct Track {
        explicit Track(TrackPacketizer p) : packetizer(std::move(p)) {}
        TrackPacketizer packetizer;
        std::optional<TrackTransport> transport;
        std::uint32_t ssrc = 0;
        std::uint16_t next_seq = 0;
        std::uint32_t timestamp_base = 0;
        std::uint32_t packets = 0;  // for the SR's sender's packet and octet counts
        std::uint32_t payload_octets = 0;
        bool sent_report = false;
    };

    asio::awaitable<void> stream(std::uint64_t generation);
    // Negative Scale: seeks back key frame by key frame from the play position to the start.
    asio::awaitable<void> stream_reverse(std::uint64_t generation);
    asio::awaitable<void> end_stream(std::uint64_t generation, std::string reason);
    bool is_video(std::size_t track) const noexcept;
    PlayRate supported_rate(PlayRate asked) const noexcept;
    bool trick_play() const noexcept { return rate_.scale != 1.0; }
    // Whether a packet read goes out at the current rate (trick play sends set-up video only).
    bool wanted(const MediaPacket& packet) const noexcept;
    std::chrono::steady_clock::time_point due(double npt) const noexcept;
    std::uint32_t media_timestamp(const Track& track, const MediaPacket& packet) const noexcept;
    asio::awaitable<void> receive_rtcp(std::size_t track);
    void send_media(const MediaPacket& packet);
    std::uint32_t report_rtp_time(std::size_t track) const noexcept;
    void send_reports(bool bye);
    void deliver(Track& track, bool rtcp, Bytes data);
    // The packets of one frame to a UDP viewer, gathered in frame_, leave as one batch: a run of equal
    // sizes (a video frame's fragments) as one segmented message where the kernel allows (UDP GSO), which
    // costs the kernel one pass instead of one per packet, and which a receiver that coalesces (the
    // gateway's ALG relay) takes in one read.
    void deliver_frame(Track& track);
    std::uint32_t rtp_time(const Track& track, double session_seconds) const noexcept;
    double session_now() const noexcept;

    asio::any_io_executor executor_;
    std::string id_;
    std::string path_;
    std::string peer_;
    std::unique_ptr<MediaFile> file_;
    std::vector<Track> tracks_;
    std::weak_ptr<InterleavedSink> sink_;
    bool loop_ = false;
    SessionState state_ = SessionState::ready;
    bool stopped_ = false;
    std::string end_of_stream_;  // why streaming ended on its own ("end of file"), for the log

    // Streaming: a generation number ends a running stream coroutine (pause, seek, stop).
    std::uint64_t generation_ = 0;
    asio::steady_timer pace_timer_;
    MediaPacket packet_;
    bool pending_ = false;      // packet_ was read but not sent yet
    double loop_offset_ = 0.0;  // session time minus file time, grows by the file's length at each loop
    double file_end_ = 0.0;     // largest presentation end seen in this pass over the file
    double position_ = 0.0;     // session time of the last packet sent
    std::chrono::steady_clock::time_point play_clock_;
    double play_npt_ = 0.0;
    PlayRate rate_;
    bool reposition_ = false;                  // trick play moved the demuxer: the next PLAY seeks
    std::vector<std::uint32_t> play_rtptime_;  // per track: the RTP-Info rtptime of the last PLAY
    std::chrono::steady_clock::time_point last_report_;

    rtp::PayloadList payloads_;
    std::vector<std::uint8_t> buffer_;
    std::vector<std::uint8_t> frame_;      // send_media(): the frame's RTP packets back to back
    std::vector<std::size_t> frame_ends_;  // where each of them ends in frame_
    net::UdpSendBatch frame_batch_;
    SessionStats stats_;
    std::chrono::steady_clock::time_point created_ = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point last_activity_ = created_;
};

}  // namespace sg::server
