// The upstream half of a Mount: one RTSP client session at a time (connect, DESCRIBE, SETUP, PLAY,
// keep-alive, TEARDOWN), its media receivers, the UDP-to-TCP rollover of `auto`, and reconnection while
// players remain.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <asio/co_spawn.hpp>
#include <asio/ip/udp.hpp>
#include <asio/post.hpp>
#include <memory>

#include "client/exchange.hpp"
#include "client/rtsp_client.hpp"
#include "client/udp_port_pair.hpp"
#include "net/asio_endpoint.hpp"
#include "net/udp_batch.hpp"
#include "net/unhandled.hpp"
#include "net/use_tuple.hpp"
#include "proxy/mount.hpp"
#include "proxy/player_session.hpp"
#include "restream/key_frame.hpp"
#include "restream/mount_sdp.hpp"
#include "rtsp/session_header.hpp"
#include "tls/tls_context.hpp"

namespace sg::proxy {
namespace {

using asio::ip::udp;
constexpr std::string_view k_cname = "streamgate-proxy";
constexpr int k_receive_buffer = 1 << 20;  // key frames arrive as bursts
// A playing upstream silent this long is lost whatever its packet rate; a fast stream much sooner
// (upstream_silence.hpp).
constexpr auto k_media_timeout = std::chrono::seconds(10);

std::string_view transport_name(bool tcp) {
    return tcp ? "tcp" : "udp";
}

}  // namespace

struct Mount::Attempt {
    explicit Attempt(const asio::any_io_executor& executor) : client(executor) {}
    struct Track {
        std::optional<client::UdpPortPair> udp;
        std::optional<udp::endpoint> server_rtcp;
        std::uint8_t rtp_channel = 0;
    };
    client::RtspClient client;
    client::Presentation presentation;
    std::vector<Track> tracks;
    std::uint32_t session_timeout_s = rtsp::k_default_session_timeout;
    bool keepalive_with_options = false;
    bool closed = false;
    std::uint32_t ssrc = 0;

    void close() {
        if (closed) return;
        closed = true;
        client.close();
        for (auto& track : tracks) {
            if (!track.udp) continue;
            asio::error_code ignored;
            track.udp->rtp.close(ignored);
            track.udp->rtcp.close(ignored);
        }
    }
};

asio::awaitable<void> Mount::run_upstream() {
    const auto self = shared_from_this();
    bool tcp = config_.transport == UpstreamTransport::tcp || config_.transport == UpstreamTransport::http ||
               config_.transport == UpstreamTransport::websocket;
    bool played = false;  // this run reached PLAY at least once
    std::optional<Clock::time_point> lost_since;
    auto backoff = std::chrono::milliseconds(250);
    int busy_retries = 0;
    std::string reported_failure;  // the last failure to start that was logged
    while (!stopping_) {
        auto attempt = std::make_shared<Attempt>(executor_);
        current_ = attempt;
        const auto started = Clock::now();
        auto playing = play_once(attempt, tcp);
        const Outcome outcome = co_await std::move(playing);
        attempt->close();
        current_.reset();
        // A pass is complete when the upstream said goodbye (RTCP BYE at the end of its file).
        end_recording(silence_ && silence_->bye(), "the upstream ended before the presentation's end");
        const bool reached_play = state_ == State::playing;
        if (stopping_) break;
        if (reached_play) {
            played = true;
            lost_since.reset();
            backoff = std::chrono::milliseconds(250);
            const auto seconds = std::chrono::duration<double>(Clock::now() - started).count();
            spdlog::info("rtsp mount {} upstream {} over {} ended: {} ({:.1f} s, {} players)", config_.name,
                         rtsp::to_string(config_.url), transport_name(tcp),
                         outcome == Outcome::idle ? "no players" : failure_, seconds, players_.size());
        }
        if (outcome == Outcome::idle) break;
        // An upstream that ended its presentation (RTCP BYE) while nobody watched is not played again; nor is
        // a VOD-cache mount's, whose upstream is a film: its players end with it, as they would at the
        // origin.
        if (reached_play && silence_ && silence_->bye() && !config_.always_on &&
            (players_.empty() || config_.vod_cache))
            break;
        // `auto`: no media over UDP, or an upstream that refuses UDP in SETUP (461), means TCP.
        const bool udp_refused = outcome == Outcome::refused && failure_.starts_with("SETUP");
        if ((outcome == Outcome::no_media || udp_refused) &&
            config_.transport == UpstreamTransport::automatic && !tcp) {
            spdlog::info("rtsp mount {}: {}, rolling over to TCP", config_.name, failure_);
            tcp = true;
            set_state(State::connecting);
            continue;
        }
        // 503 is "not now" (GstRtspServer answers it while a shared media is still being torn down after
        // the refused UDP attempt): retry a few times before telling players the upstream is unavailable.
        if (!played && failure_.ends_with(" 503") && ++busy_retries <= 3) {
            asio::steady_timer wait(executor_);
            wait.expires_after(std::chrono::milliseconds(300));
            co_await wait.async_wait(net::k_use_tuple);
            continue;
        }
        metrics_.upstream_failed->inc();
        if (!played) {
            // Logged once per distinct failure: an always-on mount may retry for as long as it runs.
            if (failure_ != reported_failure) {
                spdlog::warn("rtsp mount {} upstream {} failed: {}{}", config_.name,
                             rtsp::to_string(config_.url), failure_,
                             config_.always_on ? " (always on: retrying)" : "");
                reported_failure = failure_;
            }
            if (!config_.always_on) break;
            // An always-on mount keeps trying an upstream that is not there yet (an edge gateway started
            // before its origin, docs/scaling.md); players asking meanwhile get 502 at once.
            set_state(State::failed);
        } else {
            // A live upstream went away: players wait (their numbers continue) while we retry for a while.
            set_state(State::connecting);
            const auto now = Clock::now();
            if (!lost_since) lost_since = now;
            if (now - *lost_since >= timing_.reconnect_window && !players_.empty()) {
                end_players("upstream lost: " + failure_);
            }
            if (!wanted(now)) break;
        }
        asio::steady_timer wait(executor_);
        wait.expires_after(backoff);
        co_await wait.async_wait(net::k_use_tuple);
        backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
        if (config_.transport == UpstreamTransport::automatic) tcp = false;
        if (!played) set_state(State::connecting);  // a DESCRIBE now waits for this attempt's outcome
    }
    running_ = false;
    description_.reset();
    tracks_.clear();
    report_timer_.cancel();
    if (!players_.empty()) end_players(stopping_ ? stop_reason_ : "upstream ended: " + failure_);
    set_state(played || failure_.empty() ? State::idle : State::failed);
}

std::optional<client::ConnectOptions> Mount::upstream_options(std::string& error) {
    client::ConnectOptions options;
    options.timeout = timing_.request_timeout;
    options.http_tunnel = config_.transport == UpstreamTransport::http;
    options.websocket = config_.transport == UpstreamTransport::websocket;
    if (config_.url.is_tls()) {
        if (!upstream_tls_) {
            upstream_tls_ = tls::make_client_context({config_.tls_verify, config_.tls_ca}, error);
            if (!upstream_tls_) return std::nullopt;
        }
        options.tls = upstream_tls_;
    }
    return options;
}

asio::awaitable<Mount::Outcome> Mount::play_once(std::shared_ptr<Attempt> attempt, bool tcp) {
    auto& a = *attempt;
    silence_.reset();  // the last attempt's; a BYE before this one plays is not its end
    std::string error;
    const auto options = upstream_options(error);
    if (!options) {
        failure_ = "connect: tls: " + error;
        co_return Outcome::refused;
    }
    auto connecting = a.client.connect(config_.url, *options);
    if (!co_await std::move(connecting)) {
        failure_ = "connect: " + a.client.error();
        co_return Outcome::refused;
    }
    const std::string url = rtsp::to_string(config_.url);
    rtsp::Headers accept;
    accept.add("Accept", "application/sdp");
    auto describing = a.client.request("DESCRIBE", url, accept);
    auto describe = co_await std::move(describing);
    if (!describe) {
        failure_ = "DESCRIBE: " + a.client.error();
        co_return Outcome::refused;
    }
    if (describe->status != 200) {
        failure_ = "DESCRIBE answered " + std::to_string(describe->status);
        co_return Outcome::refused;
    }
    auto presentation = client::parse_presentation(describe->body, client::base_url(*describe, url));
    if (!presentation) {
        failure_ = "DESCRIBE: " + std::string(presentation.error());
        co_return Outcome::refused;
    }
    if (!mount_sdp(describe->body, "0.0.0.0", false)) {
        failure_ = "DESCRIBE: SDP not usable for players";
        co_return Outcome::refused;
    }
    a.presentation = std::move(*presentation);
    MountDescription description;
    description.upstream_sdp = describe->body;
    for (const auto& track : a.presentation.tracks)
        description.clock_rates.push_back(track.clock_rate);
    const auto encodings = mount_track_encodings(describe->body);
    for (std::size_t i = 0; i < description.clock_rates.size(); ++i)
        description.wait_key_frame.push_back(i < encodings.size() &&
                                             proxy::key_frame_codec(encodings[i]) != VideoCodec::none);
    // Players keep their sessions across a reconnect only if the tracks are the same.
    if (description_ && description_->clock_rates != description.clock_rates) end_players("upstream changed");
    assign_tracks(description);

    // A raw pointer: the handler lives inside the attempt's client, a shared_ptr would keep it alive forever.
    a.client.set_frame_handler([this, raw = attempt.get()](std::uint8_t channel, Bytes payload) {
        if (current_.get() != raw) return;
        // The frames of one read form a receive batch, as the datagrams of one wake-up do over UDP.
        begin_batch();
        for (std::size_t i = 0; i < raw->tracks.size(); ++i) {
            const auto rtp_channel = raw->tracks[i].rtp_channel;
            if (channel == rtp_channel) on_rtp(i, payload, Clock::now());
            if (channel == rtp_channel + 1) on_rtcp(i, payload);
        }
    });
    a.client.set_frames_done_handler([this] { end_batch(); });
    auto setting_up = set_up_tracks(a, tcp);
    if (!co_await std::move(setting_up)) co_return Outcome::refused;
    if (!tcp) {
        for (std::size_t i = 0; i < a.tracks.size(); ++i) {
            asio::co_spawn(executor_, receive_udp(shared_from_this(), attempt, i, false),
                           net::log_unhandled(net::Unhandled::mount_upstream));
            asio::co_spawn(executor_, receive_udp(shared_from_this(), attempt, i, true),
                           net::log_unhandled(net::Unhandled::mount_upstream));
        }
    }
    auto playing = a.client.request("PLAY", a.presentation.aggregate_url);
    auto play = co_await std::move(playing);
    if (!play) {
        failure_ = "PLAY: " + a.client.error();
        co_return Outcome::refused;
    }
    if (play->status != 200) {
        failure_ = "PLAY answered " + std::to_string(play->status);
        co_return Outcome::refused;
    }
    const bool reconnected = description_.has_value();
    description_ = std::move(description);
    start_recording(a.presentation, *describe, *play);
    metrics_.upstream_started->inc();
    for (auto* player : players_)
        player->resync();
    spdlog::info("rtsp mount {} upstream {} playing over {}{} ({} tracks)", config_.name, url,
                 transport_name(tcp), reconnected ? " again" : "", tracks_.size());
    got_media_ = false;
    upstream_tcp_ = tcp;
    set_state(State::playing);
    auto streaming = stream(a, tcp);
    co_return co_await std::move(streaming);
}

asio::awaitable<bool> Mount::set_up_tracks(Attempt& a, bool tcp) {
    const auto family = a.client.local_endpoint().address().is_v6() ? udp::v6() : udp::v4();
    static thread_local std::uint32_t next_ssrc = 0x5347'0000;  // "SG"; our RRs' SSRC, distinct per attempt
    a.ssrc = ++next_ssrc;
    a.tracks.resize(a.presentation.tracks.size());
    for (std::size_t i = 0; i < a.presentation.tracks.size(); ++i) {
        auto& track = a.tracks[i];
        std::string transport;
        if (tcp) {
            track.rtp_channel = static_cast<std::uint8_t>(2 * i);
            transport = client::tcp_transport(track.rtp_channel);
        } else {
            std::string error;
            track.udp = client::open_udp_port_pair(executor_, family, error);
            if (!track.udp) {
                failure_ = "SETUP: " + error;
                co_return false;
            }
            asio::error_code ignored;
            track.udp->rtp.set_option(asio::socket_base::receive_buffer_size(k_receive_buffer), ignored);
            track.udp->rtcp.non_blocking(true);
            transport = client::udp_transport(track.udp->rtp_port);
        }
        rtsp::Headers headers;
        headers.add("Transport", transport);
        auto setting_up = a.client.request("SETUP", a.presentation.tracks[i].control_url, headers);
        auto reply = co_await std::move(setting_up);
        if (!reply) {
            failure_ = "SETUP: " + a.client.error();
            co_return false;
        }
        if (reply->status != 200) {
            failure_ = "SETUP answered " + std::to_string(reply->status);
            co_return false;
        }
        auto accepted = client::accepted_transport(*reply, tcp);
        if (!accepted) {
            failure_ = "SETUP: " + std::string(accepted.error());
            co_return false;
        }
        if (tcp) {
            track.rtp_channel = accepted->interleaved->first;
        } else if (accepted->server_port) {
            track.server_rtcp =
                udp::endpoint(a.client.remote_endpoint().address(), accepted->server_port->last);
        }
        if (i == 0) {
            if (auto session = client::reply_session(*reply))
                a.session_timeout_s = session->timeout_or_default();
        }
    }
    if (a.client.session().empty()) {
        failure_ = "SETUP reply without Session";
        co_return false;
    }
    co_return true;
}

asio::awaitable<Mount::Outcome> Mount::stream(Attempt& a, bool tcp) {
    const auto played = Clock::now();
    const auto keepalive_every =
        std::chrono::seconds(std::clamp<std::uint32_t>(a.session_timeout_s / 2, 1, 30));
    auto next_keepalive = played + keepalive_every;
    SilenceOptions silence_options;
    silence_options.ceiling = k_media_timeout;
    silence_.emplace(played, silence_options);
    for (;;) {
        const auto now = Clock::now();
        if (stopping_) {
            failure_ = "stopped";
            co_return Outcome::lost;
        }
        if (got_media_ || silence_->bye()) {
            if (const auto verdict = silence_->check(now)) {
                failure_ = verdict->describe();
                (verdict->bye ? metrics_.upstream_bye : metrics_.upstream_silent)->inc();
                co_return Outcome::lost;
            }
        } else if (now - played > timing_.first_media) {
            failure_ = "no media over " + std::string(transport_name(tcp));
            co_return Outcome::no_media;
        }
        if (a.closed) {
            failure_ = "stopped";
            co_return Outcome::lost;
        }
        if (!wanted(now)) {
            auto tearing_down = a.client.request("TEARDOWN", a.presentation.aggregate_url);
            (void)co_await std::move(tearing_down);
            co_return Outcome::idle;
        }
        if (now >= next_keepalive) {
            next_keepalive = now + keepalive_every;
            auto keeping_alive = a.client.request(a.keepalive_with_options ? "OPTIONS" : "GET_PARAMETER",
                                                  a.presentation.aggregate_url);
            auto reply = co_await std::move(keeping_alive);
            if (!reply) {
                if (silence_->bye()) continue;  // closed by on_upstream_bye(): reported above
                failure_ = "keep-alive: " + a.client.error();
                co_return Outcome::lost;
            }
            if (reply->status != 200) a.keepalive_with_options = true;
            continue;
        }
        // Wake at the silence deadline, so a fast stream's loss is noticed when due, not up to 500 ms late.
        auto wake = std::min(next_keepalive, now + std::chrono::milliseconds(500));
        if (got_media_) wake = std::min(wake, silence_->deadline());
        if (!co_await a.client.pump_until(wake)) {
            if (silence_->bye()) continue;
            failure_ = "connection: " + a.client.error();
            co_return Outcome::lost;
        }
    }
}

void Mount::on_upstream_bye() {
    if (!silence_ || !current_ || silence_->bye()) return;
    silence_->on_bye();
    // Wake the stream loop, which may sleep in pump_until() for up to 500 ms: the session is over anyway
    // (no TEARDOWN for an upstream that said goodbye). Posted, because this may run inside that loop's own
    // frame dispatch.
    asio::post(executor_, [attempt = current_] { attempt->close(); });
}

asio::awaitable<void> Mount::receive_udp(std::shared_ptr<Mount> self, std::shared_ptr<Attempt> attempt,
                                         std::size_t track, bool rtcp) {
    // A burst's datagrams side by side: the players' datagrams point into them until the burst's end.
    const auto storage = std::make_unique_for_overwrite<std::uint8_t[]>(net::k_burst_buffer_size);
    const std::span<std::uint8_t> buffer(storage.get(), net::k_burst_buffer_size);
    const auto server = net::unmap(attempt->client.remote_endpoint().address());
    for (;;) {
        if (attempt->closed) co_return;
        auto& pair = *attempt->tracks[track].udp;
        auto& socket = rtcp ? pair.rtcp : pair.rtp;
        udp::endpoint from;
        auto [ec, n] = co_await socket.async_receive_from(
            asio::buffer(buffer.data(), net::k_max_udp_datagram), from, net::k_use_tuple);
        if (attempt->closed || ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor)
            co_return;
        if (ec) continue;  // e.g. ICMP port unreachable for an RR we sent
        // What else is queued is read now, before the players' writers run: the packets of a video frame
        // arrive together, and a TCP player then gets them in one write instead of one write each, made by
        // end_batch().
        self->begin_batch(true);
        net::take_burst(socket, buffer, n, from,
                        [&](std::span<const std::uint8_t> data, const udp::endpoint& sender) {
                            // Media only from the upstream host: nobody else can inject packets into every
                            // player's stream.
                            if (net::unmap(sender.address()) == server && self->current_ == attempt) {
                                if (rtcp) {
                                    self->on_rtcp(track, data);
                                } else {
                                    self->on_rtp(track, data, Clock::now());
                                }
                            }
                            return !attempt->closed;
                        });
        self->end_batch();
    }
}

void Mount::send_upstream_reports(Attempt& a) {
    // Over TCP the control connection carries requests; the keep-alives suffice there.
    const auto now = Clock::now();
    for (std::size_t i = 0; i < a.tracks.size(); ++i) {
        auto& track = a.tracks[i];
        if (!track.udp || !track.server_rtcp) continue;
        // Real report blocks (loss, jitter, LSR/DLSR) once media flows on the track.
        std::vector<std::uint8_t> compound;
        if (i < tracks_.size() && tracks_[i].reception) {
            compound = tracks_[i].reception->make_report(a.ssrc, k_cname, now);
        } else {
            (void)rtp::append_receiver_report(compound, a.ssrc);
            (void)rtp::append_sdes_cname(compound, a.ssrc, k_cname);
        }
        asio::error_code ignored;
        track.udp->rtcp.send_to(asio::buffer(compound), *track.server_rtcp, 0, ignored);
    }
}

void Mount::stop(std::string reason) {
    stopping_ = true;
    if (fed()) running_ = false;  // no upstream coroutine to end report_loop
    stop_reason_ = std::move(reason);
    if (publisher_ != nullptr) publisher_->end_from_mount(stop_reason_);
    if (current_) current_->close();
    end_recording(false, stop_reason_);
    end_players(stop_reason_);
    report_timer_.cancel();
    pace_timer_.cancel();
    state_changed_.cancel();
}

}  // namespace sg::proxy
