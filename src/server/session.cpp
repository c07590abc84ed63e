#include "server/session.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
#include <cmath>
#include <random>

#include "net/unhandled.hpp"
#include "net/use_tuple.hpp"
#include "rtp/rtcp.hpp"
#include "rtp/rtp_packet.hpp"

namespace sg::server {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto k_report_interval = std::chrono::seconds(5);  // RFC 3550 §6.2 minimum for a sender
constexpr auto k_bye_delay = std::chrono::milliseconds(300);

std::uint32_t random_u32() {
    static thread_local std::mt19937 generator{std::random_device{}()};
    return generator();
}

Clock::duration seconds_to_duration(double seconds) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

}  // namespace

Session::Session(asio::any_io_executor executor, std::string id, std::string path, std::string peer,
                 std::unique_ptr<MediaFile> file, std::vector<TrackPacketizer> packetizers, bool loop)
    : executor_(std::move(executor)),
      id_(std::move(id)),
      path_(std::move(path)),
      peer_(std::move(peer)),
      file_(std::move(file)),
      loop_(loop),
      pace_timer_(executor_) {
    frame_batch_.set_segmentation(true);
    for (auto& packetizer : packetizers) {
        Track track(std::move(packetizer));
        // Random SSRC, first sequence number and timestamp (RFC 3550 §5.1, §8).
        track.ssrc = random_u32();
        track.next_seq = static_cast<std::uint16_t>(random_u32());
        track.timestamp_base = random_u32();
        tracks_.push_back(std::move(track));
    }
}

Session::~Session() = default;

bool Session::any_set_up() const noexcept {
    return std::any_of(tracks_.begin(), tracks_.end(),
                       [](const Track& t) { return t.transport.has_value(); });
}

void Session::set_up(std::size_t track, TrackTransport transport) {
    tracks_[track].transport = std::move(transport);
    if (tracks_[track].transport->udp) {
        asio::co_spawn(
            executor_, [self = shared_from_this(), track] { return self->receive_rtcp(track); },
            net::log_unhandled(net::Unhandled::serve_session));
    }
}

std::uint32_t Session::rtp_time(const Track& track, double session_seconds) const noexcept {
    const auto units = std::llround(session_seconds * track.packetizer.clock_rate());
    return track.timestamp_base + static_cast<std::uint32_t>(units);
}

double Session::session_now() const noexcept {
    if (state_ != SessionState::playing) return position_;
    const double elapsed = std::chrono::duration<double>(Clock::now() - play_clock_).count();
    return std::max(0.0, play_npt_ + elapsed * rate_.scale * rate_.speed);
}

bool Session::is_video(std::size_t track) const noexcept {
    const Codec codec = file_->tracks()[track].codec;
    return codec == Codec::h264 || codec == Codec::h265;
}

PlayRate Session::supported_rate(PlayRate asked) const noexcept {
    const auto clamp = [](double rate) { return std::clamp(rate, k_min_play_rate, k_max_play_rate); };
    PlayRate rate;
    rate.speed = clamp(asked.speed);
    // Trick play picks key frames of a video track we send (an mp2t track has none we can see).
    bool video = false;
    for (std::size_t i = 0; i < tracks_.size(); ++i)
        video = video || (tracks_[i].transport && is_video(i));
    if (video && asked.scale != 1.0) rate.scale = std::copysign(clamp(std::fabs(asked.scale)), asked.scale);
    return rate;
}

bool Session::wanted(const MediaPacket& packet) const noexcept {
    if (!trick_play()) return true;
    if (!tracks_[packet.track].transport || !is_video(packet.track)) return false;
    const bool key_frames_only = rate_.scale > 1.0 || rate_.scale < 0.0;
    return !key_frames_only || packet.keyframe;
}

Clock::time_point Session::due(double npt) const noexcept {
    // Media time passes at scale x speed the wall clock's pace (backwards for a negative scale).
    return play_clock_ + seconds_to_duration((npt - play_npt_) / (rate_.scale * rate_.speed));
}

std::uint32_t Session::media_timestamp(const Track& track, const MediaPacket& packet) const noexcept {
    const double clock_rate = track.packetizer.clock_rate();
    if (!trick_play()) {
        const auto loop_units = std::llround(loop_offset_ * clock_rate);
        return track.timestamp_base + static_cast<std::uint32_t>(packet.pts_clock + loop_units);
    }
    // Trick play: from the RTP-Info of the PLAY on, timestamps count viewing time, not media time.
    const double npt = static_cast<double>(packet.pts_clock) / clock_rate + loop_offset_;
    const auto viewing_units = std::llround((npt - play_npt_) / rate_.scale * clock_rate);
    return play_rtptime_[packet.track] + static_cast<std::uint32_t>(viewing_units);
}

std::uint32_t Session::report_rtp_time(std::size_t index) const noexcept {
    const Track& track = tracks_[index];
    if (!trick_play() || state_ != SessionState::playing) return rtp_time(track, session_now());
    // Viewing time runs at `speed` times the wall clock.
    const double elapsed = std::chrono::duration<double>(Clock::now() - play_clock_).count();
    return play_rtptime_[index] +
           static_cast<std::uint32_t>(std::llround(elapsed * rate_.speed * track.packetizer.clock_rate()));
}

std::optional<PlayPosition> Session::play(std::optional<double> start, PlayRate rate) {
    pause();  // PLAY while playing: settle the position, then restart from there (or from `start`)
    ++generation_;
    pace_timer_.cancel();
    // After trick play the demuxer is wherever the last key frame was read: go back to the position.
    if (!start && reposition_) start = position_;
    reposition_ = false;
    rate_ = supported_rate(rate);
    if (start) {
        if (!file_->seek(*start)) return std::nullopt;
        pending_ = false;
        loop_offset_ = 0.0;
        file_end_ = 0.0;
        position_ = *start;
    } else if (pending_) {
        position_ = std::max(position_, packet_.dts_seconds + loop_offset_);
    }
    state_ = SessionState::playing;
    end_of_stream_.clear();
    play_npt_ = position_;
    play_clock_ = Clock::now();
    last_report_ = Clock::time_point{};
    PlayPosition result;
    result.npt = position_;
    result.rate = rate_;
    play_rtptime_.assign(tracks_.size(), 0);
    for (std::size_t i = 0; i < tracks_.size(); ++i) {
        play_rtptime_[i] = rtp_time(tracks_[i], position_);
        if (!tracks_[i].transport) continue;
        result.tracks.push_back({i, tracks_[i].next_seq, play_rtptime_[i]});
    }
    if (trick_play()) reposition_ = true;
    asio::co_spawn(
        executor_,
        [self = shared_from_this(), g = generation_, reverse = rate_.scale < 0.0] {
            return reverse ? self->stream_reverse(g) : self->stream(g);
        },
        net::log_unhandled(net::Unhandled::serve_session));
    return result;
}

PlayPosition Session::position_now() const {
    PlayPosition result;
    result.npt = session_now();
    for (std::size_t i = 0; i < tracks_.size(); ++i) {
        if (!tracks_[i].transport) continue;
        result.tracks.push_back({i, tracks_[i].next_seq, rtp_time(tracks_[i], result.npt)});
    }
    return result;
}

void Session::pause() {
    if (state_ != SessionState::playing) return;
    position_ = session_now();
    if (pending_ && !trick_play()) position_ = std::min(position_, packet_.dts_seconds + loop_offset_);
    ++generation_;
    pace_timer_.cancel();
    state_ = SessionState::ready;
}

std::string_view Session::transport_name() const noexcept {
    const bool tcp = std::any_of(tracks_.begin(), tracks_.end(),
                                 [](const Track& t) { return t.transport && t.transport->tcp; });
    const bool multicast = std::any_of(tracks_.begin(), tracks_.end(),
                                       [](const Track& t) { return t.transport && t.transport->multicast; });
    return multicast ? "multicast" : (tcp ? "tcp" : "udp");
}

void Session::stop(std::string_view reason) {
    if (stopped_) return;
    const bool was_playing = state_ == SessionState::playing;
    ++generation_;
    pace_timer_.cancel();
    if (was_playing) send_reports(/*bye=*/true);  // after an end of file, its BYE went out already
    stopped_ = true;
    for (auto& track : tracks_) {
        if (track.transport && track.transport->udp) {
            std::error_code ec;
            track.transport->udp->rtp.close(ec);
            track.transport->udp->rtcp.close(ec);
        }
    }
    const auto lifetime = std::chrono::duration<double>(Clock::now() - created_).count();
    std::size_t set_up = 0;
    for (const auto& track : tracks_)
        set_up += track.transport ? 1 : 0;
    spdlog::info(
        "session {} end: client={} path={} tracks={} transport={} packets={} bytes={} dropped={} "
        "duration={:.1f}s reason={}",
        id_, peer_, path_, set_up, transport_name(), stats_.packets, stats_.octets, stats_.dropped, lifetime,
        end_of_stream_.empty() ? std::string(reason) : std::string(reason) + " after " + end_of_stream_);
}

asio::awaitable<void> Session::stream(std::uint64_t generation) {
    const auto self = shared_from_this();  // alive while streaming, whoever drops the session
    // co_spawn may run this inline, inside PLAY's handling: yield first so the PLAY response is queued on
    // the connection before any interleaved media (a client skips media that precedes the response).
    co_await asio::post(executor_, asio::use_awaitable);
    bool read_in_pass = false;
    while (generation_ == generation) {
        if (!pending_) {
            const ReadResult r = file_->read(packet_);
            if (r == ReadResult::end_of_file && loop_ && read_in_pass) {
                // Seamless loop: the next pass continues the timeline, so RTP timestamps and sequence
                // numbers run on and a player sees one endless stream.
                loop_offset_ += file_end_;
                file_end_ = 0.0;
                read_in_pass = false;
                if (file_->rewind_for_loop()) continue;
            }
            if (r != ReadResult::packet) {
                co_await end_stream(generation, r == ReadResult::end_of_file ? "end of file" : "read error");
                co_return;
            }
            read_in_pass = true;
            file_end_ = std::max(file_end_, packet_.end_seconds);
            if (!wanted(packet_)) continue;  // trick play: not a frame for this rate
            pending_ = true;
        }
        const auto when = due(packet_.dts_seconds + loop_offset_);
        if (when > Clock::now()) {
            pace_timer_.expires_at(when);
            co_await pace_timer_.async_wait(net::k_use_tuple);
            continue;  // re-check the generation: pause, seek or stop may have ended this stream
        }
        send_media(packet_);
        pending_ = false;
        if (Clock::now() - last_report_ >= k_report_interval) send_reports(/*bye=*/false);
    }
}

asio::awaitable<void> Session::stream_reverse(std::uint64_t generation) {
    const auto self = shared_from_this();
    co_await asio::post(executor_, asio::use_awaitable);  // the PLAY response first, as in stream()
    // How many packets after a seek may come before the video key frame it landed on (audio interleaved).
    constexpr int k_max_reads_to_key_frame = 1000;
    double target = play_npt_;
    std::optional<double> last_sent;
    while (generation_ == generation) {
        bool found = false;
        if (target >= 0.0 && file_->seek(target)) {
            for (int i = 0; i < k_max_reads_to_key_frame && !found; ++i) {
                if (file_->read(packet_) != ReadResult::packet) break;
                found = wanted(packet_);
            }
        }
        // Nothing before the last key frame sent (or the seek came back to it): the start is reached.
        if (!found || (last_sent && packet_.dts_seconds >= *last_sent)) {
            co_await end_stream(generation, "start of file");
            co_return;
        }
        const auto when = due(packet_.dts_seconds);
        if (when > Clock::now()) {
            pace_timer_.expires_at(when);
            co_await pace_timer_.async_wait(net::k_use_tuple);
            if (generation_ != generation) co_return;
        }
        send_media(packet_);
        last_sent = packet_.dts_seconds;
        target = packet_.dts_seconds - 0.001;  // the key frame before this one
        if (Clock::now() - last_report_ >= k_report_interval) send_reports(/*bye=*/false);
    }
}

asio::awaitable<void> Session::end_stream(std::uint64_t generation, std::string reason) {
    // The BYE goes out a moment after the last packet: over UDP it travels on the RTCP socket, and a
    // receiver that handles it before the last RTP datagrams would drop them.
    pace_timer_.expires_after(k_bye_delay);
    co_await pace_timer_.async_wait(net::k_use_tuple);
    if (generation_ != generation) co_return;
    end_of_stream_ = std::move(reason);
    send_reports(/*bye=*/true);
    position_ = session_now();
    state_ = SessionState::ready;
}

void Session::send_media(const MediaPacket& packet) {
    Track& track = tracks_[packet.track];
    if (!track.transport) return;
    if (!track.packetizer.packetize(packet.data, payloads_)) {
        ++stats_.dropped;  // a malformed frame in the file costs that frame only
        return;
    }
    const auto timestamp = media_timestamp(track, packet);
    // A multicast group's stream keeps one datagram per send: segmentation is for unicast viewers.
    const bool udp = track.transport->udp != nullptr && !track.transport->multicast;
    frame_.clear();
    frame_ends_.clear();
    for (std::size_t i = 0; i < payloads_.size(); ++i) {
        const auto& chunk = payloads_.chunk(i);
        rtp::RtpHeader header;
        header.marker = chunk.marker;
        header.payload_type = track.packetizer.payload_type();
        header.sequence = track.next_seq++;
        header.timestamp = timestamp + chunk.timestamp_offset;
        header.ssrc = track.ssrc;
        if (!rtp::append_rtp(frame_, header, payloads_.payload(i))) continue;
        ++track.packets;
        track.payload_octets += static_cast<std::uint32_t>(chunk.size);
        frame_ends_.push_back(frame_.size());
    }
    if (udp) {
        deliver_frame(track);
        return;
    }
    std::size_t begin = 0;
    for (const std::size_t end : frame_ends_) {
        deliver(track, false, Bytes(frame_.data() + begin, end - begin));
        begin = end;
    }
}

void Session::deliver_frame(Track& track) {
    if (frame_ends_.empty()) return;
    auto& transport = *track.transport;
    frame_batch_.clear();
    std::size_t begin = 0;
    for (const std::size_t end : frame_ends_) {
        frame_batch_.add(transport.client_rtp, {}, Bytes(frame_.data() + begin, end - begin));
        begin = end;
    }
    const net::UdpSendResult result = net::send_batch_now(transport.udp->rtp.native_handle(), frame_batch_);
    stats_.packets += result.sent;
    stats_.octets += result.body_bytes;
    stats_.dropped += frame_ends_.size() - result.sent;
}

void Session::send_reports(bool bye) {
    last_report_ = Clock::now();
    const auto ntp = rtp::to_ntp(std::chrono::system_clock::now());
    const std::string cname = "streamgate-" + id_;
    for (std::size_t i = 0; i < tracks_.size(); ++i) {
        Track& track = tracks_[i];
        if (!track.transport) continue;
        buffer_.clear();
        const rtp::SenderInfo info{ntp, report_rtp_time(i), track.packets, track.payload_octets};
        if (!rtp::append_sender_report(buffer_, track.ssrc, info)) continue;
        if (!rtp::append_sdes_cname(buffer_, track.ssrc, cname)) continue;
        if (bye) {
            const std::uint32_t sources[] = {track.ssrc};
            if (!rtp::append_bye(buffer_, sources)) continue;
        }
        deliver(track, true, buffer_);
    }
}

void Session::deliver(Track& track, bool rtcp, Bytes data) {
    auto& transport = *track.transport;
    bool sent = false;
    if (transport.tcp) {
        if (auto sink = sink_.lock())
            sent = sink->send_interleaved(rtcp ? transport.rtcp_channel : transport.rtp_channel, data);
    } else if (transport.udp) {
        std::error_code ec;
        auto& socket = rtcp ? transport.udp->rtcp : transport.udp->rtp;
        socket.send_to(asio::buffer(data.data(), data.size()),
                       rtcp ? transport.client_rtcp : transport.client_rtp, 0, ec);
        sent = !ec;
    }
    if (!sent) {
        ++stats_.dropped;
        return;
    }
    if (!rtcp) {
        ++stats_.packets;
        stats_.octets += data.size();
    }
}

asio::awaitable<void> Session::receive_rtcp(std::size_t track_index) {
    const auto self = shared_from_this();
    std::vector<std::uint8_t> datagram(2048);
    asio::ip::udp::endpoint from;
    while (!stopped_) {
        auto& transport = *tracks_[track_index].transport;
        auto [ec, n] =
            co_await transport.udp->rtcp.async_receive_from(asio::buffer(datagram), from, net::k_use_tuple);
        if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) co_return;
        if (ec) continue;  // e.g. ICMP port unreachable reported on the socket
        // Only the viewer's own reports count; anyone else could keep a dead session alive.
        if (from.address() != transport.client_rtcp.address()) continue;
        if (rtp::validate_compound(Bytes(datagram.data(), n))) touch();
    }
}

}  // namespace sg::server
