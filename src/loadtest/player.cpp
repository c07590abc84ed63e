#include "loadtest/player.hpp"

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/ip/udp.hpp>
#include <asio/this_coro.hpp>
#include <memory>
#include <vector>

#include "client/exchange.hpp"
#include "client/presentation.hpp"
#include "client/udp_port_pair.hpp"
#include "net/udp_batch.hpp"
#include "restream/key_frame.hpp"
#include "rtp/receiver_stats.hpp"
#include "rtp/rtcp.hpp"
#include "rtp/rtp_packet.hpp"
#include "rtsp/session_header.hpp"

namespace sg::loadtest {
namespace {

using Clock = std::chrono::steady_clock;
using asio::ip::udp;

constexpr std::string_view k_cname = "streamgate-testplayer";
// With `--duration auto`, how long after the announced end the player keeps listening for late packets.
constexpr double k_auto_grace_s = 1.5;

double ms_between(Clock::time_point from, Clock::time_point to) {
    return std::chrono::duration<double, std::milli>(to - from).count();
}

// The receive slots are shared by every socket of a thread: a receiver processes its batch synchronously
// before it awaits again, so no other receiver can overwrite it meanwhile. This keeps memory per player at a
// few sockets, not a few hundred kilobytes of slots.
net::UdpReceiveBatch& thread_batch() {
    static thread_local net::UdpReceiveBatch batch(32, 2048);
    return batch;
}

struct TrackState {
    client::Track track;
    std::optional<client::UdpPortPair> udp;
    std::optional<udp::endpoint> server_rtcp;
    std::uint8_t rtp_channel = 0;  // interleaved
    std::optional<std::uint32_t> ssrc;
    rtp::ReceiverStats stats;
    bool bye = false;
    std::uint64_t packets = 0;
    proxy::VideoCodec codec = proxy::VideoCodec::none;  // video whose key frames are timed
    std::optional<std::uint32_t> key_frame_timestamp;   // the first key frame's, until its last packet
    bool key_frame_done = false;
};

class Player : public std::enable_shared_from_this<Player> {
public:
    Player(PlayerConfig config, LiveCounters& live, const asio::any_io_executor& executor)
        : config_(std::move(config)), live_(live), client_(executor), our_ssrc_(random_ssrc()) {}

    asio::awaitable<PlayerResult> run();

private:
    static std::uint32_t random_ssrc() {
        static thread_local std::uint32_t next = 0x5354'0000;  // "ST": distinct per player, no RNG needed
        return ++next;
    }

    PlayerResult failed(std::string reason) {
        result_.ok = false;
        result_.error = std::move(reason);
        return result_;
    }
    std::string exchange_failure(std::string_view method) const {
        return std::string(method) + " " + client_.error();
    }

    asio::awaitable<bool> setup_tracks();
    asio::awaitable<bool> play();
    asio::awaitable<bool> receive_until_end();
    asio::awaitable<void> send_reports();
    void start_udp_receivers();
    void stop();
    void finish_stats();

    static asio::awaitable<void> receive_rtp(std::shared_ptr<Player> self, std::size_t index);
    static asio::awaitable<void> receive_rtcp(std::shared_ptr<Player> self, std::size_t index);
    void on_rtp(std::size_t index, Bytes packet, Clock::time_point arrival);
    void note_key_frame(TrackState& track, const rtp::RtpView& view, Clock::time_point arrival);
    void on_rtcp(std::size_t index, Bytes packet, Clock::time_point arrival);
    void on_frame(std::uint8_t channel, Bytes payload);

    PlayerConfig config_;
    LiveCounters& live_;
    client::RtspClient client_;
    std::uint32_t our_ssrc_;
    client::Presentation presentation_;
    std::vector<TrackState> tracks_;
    PlayerResult result_;
    Clock::time_point play_sent_{};
    std::optional<Clock::time_point> first_rtp_;
    std::uint32_t session_timeout_s_ = rtsp::k_default_session_timeout;
    bool keepalive_with_options_ = false;
};

asio::awaitable<PlayerResult> Player::run() {
    // g++ 12 mishandles temporaries with destructors in a full-expression holding co_await: every
    // coroutine taking arguments is created in one statement and awaited in the next.
    auto connecting = client_.connect(config_.url, config_.connect);
    if (!co_await std::move(connecting)) co_return failed(client_.error());
    client_.set_frame_handler([this](std::uint8_t channel, Bytes payload) { on_frame(channel, payload); });

    rtsp::Headers accept;
    accept.add("Accept", "application/sdp");
    const auto describe_sent = Clock::now();
    auto describing = client_.request("DESCRIBE", config_.url_text, accept);
    auto describe = co_await std::move(describing);
    if (!describe) co_return failed(exchange_failure("DESCRIBE"));
    result_.describe_ms = ms_between(describe_sent, Clock::now());
    if (describe->status != 200) co_return failed("DESCRIBE " + std::to_string(describe->status));
    const auto base = client::base_url(*describe, config_.url_text);
    auto presentation = client::parse_presentation(describe->body, base);
    if (!presentation) co_return failed("DESCRIBE " + std::string(presentation.error()));
    presentation_ = std::move(*presentation);
    if (!config_.duration_s && !presentation_.duration_s)
        co_return failed("no a=range end in the SDP for --duration auto");

    const bool set_up = co_await setup_tracks();
    if (!set_up) {
        stop();
        co_return result_;
    }
    const bool playing = co_await play();
    if (!playing) {
        stop();
        co_return result_;
    }
    const bool received = co_await receive_until_end();
    if (!received) {
        stop();
        finish_stats();
        co_return result_;
    }
    auto tearing_down = client_.request("TEARDOWN", presentation_.aggregate_url);
    auto teardown = co_await std::move(tearing_down);
    stop();
    finish_stats();
    if (!teardown) co_return failed(exchange_failure("TEARDOWN"));
    if (teardown->status != 200) co_return failed("TEARDOWN " + std::to_string(teardown->status));
    if (result_.rtp_invalid > 0) co_return failed("invalid RTP");
    result_.ok = true;
    co_return result_;
}

asio::awaitable<bool> Player::setup_tracks() {
    const auto family = client_.local_endpoint().address().is_v6() ? udp::v6() : udp::v4();
    const auto setup_sent = Clock::now();
    tracks_.reserve(presentation_.tracks.size());
    result_.tracks = presentation_.tracks.size();
    for (std::size_t i = 0; i < presentation_.tracks.size(); ++i) {
        auto& track = tracks_.emplace_back();
        track.track = presentation_.tracks[i];
        track.codec = proxy::key_frame_codec(track.track.encoding);
        std::string transport;
        if (config_.tcp) {
            track.rtp_channel = static_cast<std::uint8_t>(2 * i);
            transport = client::tcp_transport(track.rtp_channel);
        } else {
            std::string error;
            track.udp = client::open_udp_port_pair(client_.socket().get_executor(), family, error);
            if (!track.udp) {
                failed(std::move(error));
                co_return false;
            }
            // Servers send key frames as bursts, and with thousands of players this process is not always
            // scheduled in time: a deeper buffer turns a late read into no loss. Pages are only committed
            // while data waits, so an idle socket costs nothing; the kernel caps it at net.core.rmem_max.
            asio::error_code ignored;
            track.udp->rtp.set_option(asio::socket_base::receive_buffer_size(config_.udp_receive_buffer),
                                      ignored);
            transport = client::udp_transport(track.udp->rtp_port);
        }
        rtsp::Headers headers;
        headers.add("Transport", transport);
        auto setting_up = client_.request("SETUP", track.track.control_url, headers);
        auto reply = co_await std::move(setting_up);
        if (!reply) {
            failed(exchange_failure("SETUP"));
            co_return false;
        }
        if (reply->status != 200) {
            failed("SETUP " + std::to_string(reply->status));
            co_return false;
        }
        auto accepted = client::accepted_transport(*reply, config_.tcp);
        if (!accepted) {
            failed("SETUP " + std::string(accepted.error()));
            co_return false;
        }
        track.ssrc = accepted->ssrc;
        if (config_.tcp) {
            track.rtp_channel = accepted->interleaved->first;
        } else if (accepted->server_port) {
            // RTCP goes back to where the server said it listens, on the address we reached it at.
            asio::error_code ec;
            auto address = client_.remote_endpoint().address();
            if (accepted->source) {
                const auto source = asio::ip::make_address(*accepted->source, ec);
                if (!ec) address = source;
            }
            track.server_rtcp = udp::endpoint(address, accepted->server_port->last);
        }
        if (i == 0) {
            if (auto session = client::reply_session(*reply))
                session_timeout_s_ = session->timeout_or_default();
        }
    }
    if (client_.session().empty()) {
        failed("SETUP reply without Session");
        co_return false;
    }
    result_.setup_ms = ms_between(setup_sent, Clock::now());
    co_return true;
}

asio::awaitable<bool> Player::play() {
    if (!config_.tcp) start_udp_receivers();
    // No Range: on a shared live media GstRtspServer turns a Range into a seek, a flush that every other
    // client of the media sees as lost packets. Without one, playback starts from the beginning or "now".
    play_sent_ = Clock::now();
    auto playing = client_.request("PLAY", presentation_.aggregate_url);
    auto reply = co_await std::move(playing);
    if (!reply) {
        failed(exchange_failure("PLAY"));
        co_return false;
    }
    if (reply->status != 200) {
        failed("PLAY " + std::to_string(reply->status));
        co_return false;
    }
    result_.play_ms = ms_between(play_sent_, Clock::now());
    co_return true;
}

asio::awaitable<bool> Player::receive_until_end() {
    const auto played = Clock::now();
    const std::chrono::duration<double> length =
        config_.duration_s ? std::chrono::duration<double>(*config_.duration_s)
                           : std::chrono::duration<double>(*presentation_.duration_s + k_auto_grace_s);
    const Clock::time_point end = played + std::chrono::duration_cast<Clock::duration>(length);
    const auto first_rtp_deadline = play_sent_ + config_.first_rtp_timeout;
    // Half the session timeout, as most clients do; GET_PARAMETER first (RFC 2326 §10.8), OPTIONS if refused.
    const auto keepalive_every = std::chrono::seconds(std::max<std::uint32_t>(session_timeout_s_ / 2, 1));
    Clock::time_point next_keepalive = played + keepalive_every;
    Clock::time_point next_report = played + config_.report_interval;
    for (;;) {
        const auto now = Clock::now();
        if (!first_rtp_ && now >= first_rtp_deadline) {
            failed("no RTP within " + std::to_string(config_.first_rtp_timeout.count() / 1000) + " s");
            co_return false;
        }
        if (now >= end || live_.stop_requested.load(std::memory_order_relaxed)) co_return true;
        // Every track said goodbye (RFC 3550 §6.6): the presentation is over.
        if (std::all_of(tracks_.begin(), tracks_.end(), [](const TrackState& t) { return t.bye; }))
            co_return true;
        if (now >= next_keepalive) {
            next_keepalive = now + keepalive_every;
            auto keeping_alive = client_.request(keepalive_with_options_ ? "OPTIONS" : "GET_PARAMETER",
                                                 presentation_.aggregate_url);
            auto reply = co_await std::move(keeping_alive);
            if (!reply) {
                failed(exchange_failure("keep-alive"));
                co_return false;
            }
            if (reply->status != 200) keepalive_with_options_ = true;
            continue;
        }
        if (now >= next_report) {
            next_report = now + config_.report_interval;
            co_await send_reports();
            continue;
        }
        Clock::time_point wake = std::min({end, next_keepalive, next_report});
        if (!first_rtp_) wake = std::min(wake, first_rtp_deadline);
        // UDP players read nothing here but still notice a server that closes the connection.
        if (!co_await client_.pump_until(wake)) {
            failed("connection lost while playing: " + client_.error());
            co_return false;
        }
    }
}

asio::awaitable<void> Player::send_reports() {
    const auto now = Clock::now();
    for (std::size_t i = 0; i < tracks_.size(); ++i) {
        auto& track = tracks_[i];
        if (track.packets == 0) continue;
        std::vector<std::uint8_t> compound;
        const auto block = track.stats.make_report_block(now);
        (void)rtp::append_receiver_report(compound, our_ssrc_, std::span<const rtp::ReportBlock>(&block, 1));
        (void)rtp::append_sdes_cname(compound, our_ssrc_, k_cname);
        if (config_.tcp) {
            if (!co_await client_.send_frame(static_cast<std::uint8_t>(track.rtp_channel + 1), compound))
                co_return;
        } else if (track.udp && track.server_rtcp) {
            asio::error_code ec;  // a lost report is not an error worth failing a player for
            track.udp->rtcp.send_to(asio::buffer(compound), *track.server_rtcp, 0, ec);
        }
    }
}

void Player::start_udp_receivers() {
    auto self = shared_from_this();
    const auto executor = client_.socket().get_executor();
    for (std::size_t i = 0; i < tracks_.size(); ++i) {
        asio::co_spawn(executor, receive_rtp(self, i), asio::detached);
        asio::co_spawn(executor, receive_rtcp(self, i), asio::detached);
    }
}

asio::awaitable<void> Player::receive_rtp(std::shared_ptr<Player> self, std::size_t index) {
    auto& socket = self->tracks_[index].udp->rtp;
    for (;;) {
        auto& batch = thread_batch();
        const auto ec = co_await net::receive_batch(socket, batch);
        if (ec) co_return;  // closed by stop()
        const auto now = Clock::now();
        for (std::size_t i = 0; i < batch.size(); ++i) {
            if (batch.bad_source(i)) continue;
            if (batch.truncated(i)) {
                ++self->result_.rtp_invalid;
                continue;
            }
            self->on_rtp(index, batch.data(i), now);
        }
    }
}

asio::awaitable<void> Player::receive_rtcp(std::shared_ptr<Player> self, std::size_t index) {
    auto& socket = self->tracks_[index].udp->rtcp;
    for (;;) {
        auto& batch = thread_batch();
        const auto ec = co_await net::receive_batch(socket, batch);
        if (ec) co_return;
        const auto now = Clock::now();
        for (std::size_t i = 0; i < batch.size(); ++i) {
            if (!batch.bad_source(i) && !batch.truncated(i)) self->on_rtcp(index, batch.data(i), now);
        }
    }
}

void Player::on_frame(std::uint8_t channel, Bytes payload) {
    const auto now = Clock::now();
    for (std::size_t i = 0; i < tracks_.size(); ++i) {
        if (channel == tracks_[i].rtp_channel) return on_rtp(i, payload, now);
        if (channel == tracks_[i].rtp_channel + 1) return on_rtcp(i, payload, now);
    }
    ++result_.rtp_invalid;  // a channel no SETUP set up
}

void Player::on_rtp(std::size_t index, Bytes packet, Clock::time_point arrival) {
    auto& track = tracks_[index];
    const auto view = rtp::parse_rtp(packet);
    if (!view) {
        ++result_.rtp_invalid;
        return;
    }
    const auto& types = track.track.payload_types;
    if (std::find(types.begin(), types.end(), view->payload_type()) == types.end()) {
        ++result_.rtp_invalid;
        return;
    }
    if (!track.ssrc)
        track.ssrc = view->ssrc();  // the SETUP reply did not announce one: the first one sets it
    if (view->ssrc() != *track.ssrc) {
        ++result_.rtp_invalid;
        return;
    }
    if (track.packets == 0) track.stats = rtp::ReceiverStats(*track.ssrc);
    if (!first_rtp_) {
        first_rtp_ = arrival;
        result_.first_rtp_ms = ms_between(play_sent_, arrival);
    }
    if (track.codec != proxy::VideoCodec::none) note_key_frame(track, *view, arrival);
    ++track.packets;
    ++result_.rtp_packets;
    result_.rtp_bytes += packet.size();
    live_.rtp_packets.fetch_add(1, std::memory_order_relaxed);
    live_.rtp_bytes.fetch_add(packet.size(), std::memory_order_relaxed);
    (void)track.stats.on_packet(view->sequence(), view->timestamp(),
                                rtp::to_rtp_units(arrival - play_sent_, track.track.clock_rate));
}

void Player::note_key_frame(TrackState& track, const rtp::RtpView& view, Clock::time_point arrival) {
    if (track.key_frame_done) return;
    const bool starts = proxy::starts_key_frame(track.codec, view.payload());
    if (track.packets == 0) result_.first_packet_key = result_.first_packet_key.value_or(true) && starts;
    if (!track.key_frame_timestamp) {
        if (!starts) return;
        track.key_frame_timestamp = view.timestamp();
    }
    // The key frame (with its parameter sets, which share its timestamp) ends at its marker bit.
    if (view.timestamp() != *track.key_frame_timestamp || !view.marker()) return;
    track.key_frame_done = true;
    if (!result_.first_key_frame_ms) result_.first_key_frame_ms = ms_between(play_sent_, arrival);
}

void Player::on_rtcp(std::size_t index, Bytes packet, Clock::time_point arrival) {
    const auto compound = rtp::parse_compound(packet);
    if (!compound) return;  // not counted as RTCP seen
    ++result_.rtcp_packets;
    auto& track = tracks_[index];
    for (const auto& part : *compound) {
        if (part.type == rtp::RtcpType::sr) {
            if (auto sr = rtp::parse_sender_report(part); sr && track.ssrc && sr->ssrc == *track.ssrc)
                track.stats.on_sender_report(sr->sender.ntp_timestamp, arrival);
        } else if (part.type == rtp::RtcpType::bye) {
            if (auto bye = rtp::parse_bye(part)) {
                for (std::size_t s = 0; s < bye->source_count(); ++s)
                    if (track.ssrc && bye->source(s) == *track.ssrc) track.bye = true;
            }
        }
    }
}

void Player::stop() {
    client_.close();
    for (auto& track : tracks_) {
        if (!track.udp) continue;
        asio::error_code ignored;
        track.udp->rtp.close(ignored);
        track.udp->rtcp.close(ignored);
    }
}

void Player::finish_stats() {
    double worst_jitter = -1;
    for (const auto& track : tracks_) {
        if (track.packets == 0) continue;
        result_.rtp_lost += std::max<std::int64_t>(track.stats.cumulative_lost(), 0);
        result_.rtp_duplicates += track.stats.duplicates();
        const double jitter = 1000.0 * track.stats.jitter() / track.track.clock_rate;
        worst_jitter = std::max(worst_jitter, jitter);
    }
    if (worst_jitter >= 0) result_.jitter_ms = worst_jitter;
}

}  // namespace

asio::awaitable<PlayerResult> run_player(PlayerConfig config, LiveCounters& live) {
    const auto executor = co_await asio::this_coro::executor;
    auto player = std::make_shared<Player>(std::move(config), live, executor);
    live.active.fetch_add(1, std::memory_order_relaxed);
    auto result = co_await player->run();
    live.active.fetch_sub(1, std::memory_order_relaxed);
    (result.ok ? live.succeeded : live.failed).fetch_add(1, std::memory_order_relaxed);
    co_return result;
}

}  // namespace sg::loadtest
