// `streamgate mssr send rtsp://...`: plays the origin over interleaved TCP with the RTSP client core, groups
// each track's RTP packets into ADUs (src/mssr/rtp_adu.hpp) and submits them to an MSSR session, together
// with the origin's SDP, repeated. `streamgate mssr send FILE.sdp` does the same with RTP over UDP that the
// SDP file describes.

#include <fmt/format.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/multicast.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "client/exchange.hpp"
#include "client/presentation.hpp"
#include "client/rtsp_client.hpp"
#include "mssr/rtp_adu.hpp"
#include "mssr_io/stats_json.hpp"
#include "mssr_rtsp/bridge_admin.hpp"
#include "mssr_rtsp/sdp_input.hpp"
#include "net/use_tuple.hpp"
#include "restream/key_frame.hpp"
#include "restream/mount_sdp.hpp"
#include "rtp/rtcp.hpp"
#include "rtsp/session_header.hpp"
#include "rtsp/url.hpp"

namespace sg::mssr {
namespace {

using udp = asio::ip::udp;
using Json = nlohmann::ordered_json;
constexpr auto k_request_timeout = std::chrono::seconds(5);
// The origin silent this long after its media started: it is over (serve ends a file with BYE, too).
constexpr auto k_origin_silence = std::chrono::seconds(3);

void say(const std::string& line) {
    std::fputs(line.c_str(), stderr);
}

struct Track {
    std::uint8_t stream = 0;
    bool h264 = false;
    RtpAduGrouper grouper;
};

class SendRun {
public:
    explicit SendRun(const RtspBridgeConfig& config)
        : config_(config), signals_(io_, SIGINT, SIGTERM), client_(io_.get_executor()), timer_(io_) {}

    int run() {
        if (!start_admin(config_, io_, admin_, [this] { return static_cast<const Socket*>(mssr_.get()); }))
            return 2;
        signals_.async_wait([this](const asio::error_code& ec, int) {
            if (!ec) stop();
        });
        asio::co_spawn(io_, play(), [this](const std::exception_ptr& e) {
            if (e) {
                say("streamgate: mssr send: unexpected error\n");
                status_ = 1;
            }
            stop();
        });
        io_.run();
        return write_stats() ? status_ : 1;
    }

private:
    void stop() {
        if (stopping_) return;
        stopping_ = true;
        asio::error_code ignored;
        signals_.cancel(ignored);
        // Whatever still runs (a player's connection, a request in flight) gets a moment, not forever.
        exit_.expires_after(std::chrono::seconds(2));
        exit_.async_wait([this](const asio::error_code&) { io_.stop(); });
        timer_.cancel();
        client_.close();
        asio::error_code ignored_close;
        for (auto& socket : rtp_sockets_)
            socket->close(ignored_close);
        for (auto& socket : rtcp_sockets_)
            socket->close(ignored_close);
        if (mssr_) mssr_->close();
        if (admin_) admin_->stop();
    }

    void fail(int status, const std::string& why) {
        if (!stopping_) {
            say(fmt::format("streamgate: mssr send: {}\n", why));
            status_ = status;
        }
        stop();
    }

    asio::awaitable<void> play() {
        if (!config_.source_sdp_file.empty()) {
            co_await play_sdp_file();
        } else {
            co_await play_rtsp();
        }
    }

    // The tracks, their groupers and the MSSR session for a presentation of these media types described by
    // `sdp`; false after fail().
    asio::awaitable<bool> open_session(const std::vector<std::string>& media, const std::string& sdp) {
        if (sdp.size() > k_max_description_bytes) {
            fail(1, "source: SDP too long");
            co_return false;
        }
        const auto streams = assign_streams(media);
        if (!streams) {
            fail(1, fmt::format("source: {}", streams.error()));
            co_return false;
        }
        const auto encodings = proxy::mount_track_encodings(sdp);
        for (std::size_t i = 0; i < streams->size(); ++i) {
            const std::uint8_t stream = (*streams)[i];
            const bool h264 = i < encodings.size() && proxy::waits_for_key_frame(encodings[i]);
            tracks_.push_back(
                std::make_unique<Track>(Track{stream, h264, RtpAduGrouper(stream, stream == 0)}));
        }
        description_ = encode_session_description(SessionDescription{*streams, sdp});

        // The session's streams: video, audio, the description (repeated, so a long budget costs nothing),
        // then any further track with the audio policy.
        SocketOptions options = config_.options;
        options.role = Role::sender;
        const StreamPolicy video = options.streams.at(0);
        const StreamPolicy audio = options.streams.size() > 1 ? options.streams[1] : video;
        StreamPolicy description{std::max(video.latency, std::chrono::milliseconds(1000)),
                                 RetransmitMode::by_value, LatePolicy::drop};
        const std::size_t count =
            std::max<std::size_t>(3, 1 + *std::max_element(streams->begin(), streams->end()));
        options.streams.assign(count, audio);
        options.streams[k_rtp_video_stream] = video;
        options.streams[k_description_stream] = description;
        auto created = Socket::create(io_.get_executor(), config_.mssr.bind_address(), options);
        if (!created) {
            fail(2, std::string(created.error()));
            co_return false;
        }
        mssr_ = std::move(*created);
        if (const auto ec = co_await mssr_->meet(config_.mssr)) {
            fail(1, "no MSSR receiver at the peer: " + ec.message());
            co_return false;
        }
        asio::co_spawn(io_, session(), asio::detached);
        send_description();
        co_return true;
    }

    asio::awaitable<void> play_rtsp() {
        const auto url = rtsp::parse_url(config_.source_url);
        if (!url) co_return fail(2, fmt::format("{}: {}", config_.source_url, url.error()));
        client::ConnectOptions connect;
        connect.timeout = k_request_timeout;
        if (!co_await client_.connect(*url, connect))
            co_return fail(1, "origin: connect: " + client_.error());
        const std::string request_url = rtsp::to_string(*url);
        rtsp::Headers accept;
        accept.add("Accept", "application/sdp");
        auto describe = co_await client_.request("DESCRIBE", request_url, accept);
        if (!describe || describe->status != 200)
            co_return fail(1, describe ? fmt::format("origin: DESCRIBE answered {}", describe->status)
                                       : "origin: DESCRIBE: " + client_.error());
        auto presentation =
            client::parse_presentation(describe->body, client::base_url(*describe, request_url));
        if (!presentation) co_return fail(1, fmt::format("origin: DESCRIBE: {}", presentation.error()));
        std::vector<std::string> media;
        for (const auto& t : presentation->tracks)
            media.push_back(t.media);
        if (!co_await open_session(media, describe->body)) co_return;

        client_.set_frame_handler(
            [this](std::uint8_t channel, Bytes payload) { on_frame(channel, payload); });
        std::uint32_t session_timeout_s = rtsp::k_default_session_timeout;
        for (std::size_t i = 0; i < presentation->tracks.size(); ++i) {
            rtsp::Headers headers;
            headers.add("Transport", client::tcp_transport(static_cast<std::uint8_t>(2 * i)));
            auto reply = co_await client_.request("SETUP", presentation->tracks[i].control_url, headers);
            if (!reply || reply->status != 200)
                co_return fail(1, reply ? fmt::format("origin: SETUP answered {}", reply->status)
                                        : "origin: SETUP: " + client_.error());
            const auto accepted = client::accepted_transport(*reply, true);
            if (!accepted || !accepted->interleaved)
                co_return fail(1, "origin: SETUP: no interleaved channels in the answer");
            channels_.push_back(accepted->interleaved->first);
            if (i == 0) {
                if (const auto s = client::reply_session(*reply)) session_timeout_s = s->timeout_or_default();
            }
        }
        auto play = co_await client_.request("PLAY", presentation->aggregate_url);
        if (!play || play->status != 200)
            co_return fail(1, play ? fmt::format("origin: PLAY answered {}", play->status)
                                   : "origin: PLAY: " + client_.error());
        if (config_.progress_interval.count() > 0)
            say(fmt::format("mssr send: playing {} ({} tracks)\n", request_url, tracks_.size()));

        const auto keepalive_every =
            std::chrono::seconds(std::clamp<std::uint32_t>(session_timeout_s / 2, 1, 30));
        const auto start = Clock::now();
        auto next_keepalive = start + keepalive_every;
        Chores chores(start, config_);
        last_media_ = start;
        while (!stopping_ && !origin_ended_) {
            const auto now = Clock::now();
            if (now - last_media_ > k_origin_silence) break;
            do_chores(chores, now);
            if (now >= next_keepalive) {
                next_keepalive = now + keepalive_every;
                if (!co_await client_.request("GET_PARAMETER", presentation->aggregate_url)) break;
                continue;
            }
            if (!co_await client_.pump_until(std::min(next_keepalive, chores.next(now))))
                break;  // the origin closed the connection
        }
        co_await finish();
    }

    // RTP over UDP as an SDP file describes it (ffmpeg -f rtp ... -sdp_file F writes one): each m= section's
    // packets arrive on its port at the c= address, its RTCP one port above.
    asio::awaitable<void> play_sdp_file() {
        std::ifstream in(config_.source_sdp_file, std::ios::binary);
        std::string text(k_max_description_bytes + 1, '\0');
        in.read(text.data(), static_cast<std::streamsize>(text.size()));
        text.resize(static_cast<std::size_t>(in.gcount()));
        if (text.empty()) co_return fail(2, fmt::format("{}: cannot read it", config_.source_sdp_file));
        const auto input = sdp_input_tracks(text);
        if (!input) co_return fail(2, fmt::format("{}: {}", config_.source_sdp_file, input.error()));
        for (const SdpInputTrack& track : *input) {
            asio::error_code ec;
            auto rtp = bind_input(track.address, track.port, ec);
            if (!rtp) {
                co_return fail(2, fmt::format("{}: {} port {}: {}", config_.source_sdp_file,
                                              track.address.to_string(), track.port, ec.message()));
            }
            rtp_sockets_.push_back(std::move(rtp));
            // RTCP only ends the input (BYE); a port already taken costs nothing but that.
            if (auto rtcp = bind_input(track.address, static_cast<std::uint16_t>(track.port + 1), ec))
                rtcp_sockets_.push_back(std::move(rtcp));
        }
        std::vector<std::string> media;
        for (const SdpInputTrack& track : *input)
            media.push_back(track.media);
        if (!co_await open_session(media, text)) co_return;
        for (std::size_t i = 0; i < rtp_sockets_.size(); ++i)
            asio::co_spawn(io_, receive(*rtp_sockets_[i], i, false), asio::detached);
        for (auto& socket : rtcp_sockets_)
            asio::co_spawn(io_, receive(*socket, 0, true), asio::detached);
        if (config_.progress_interval.count() > 0)
            say(fmt::format("mssr send: waiting for the RTP of {} ({} tracks)\n", config_.source_sdp_file,
                            tracks_.size()));

        // The input may start any time after us; once it has, silence or a BYE ends it.
        const auto start = Clock::now();
        Chores chores(start, config_);
        while (!stopping_ && !origin_ended_) {
            const auto now = Clock::now();
            if (media_started_ && now - last_media_ > k_origin_silence) break;
            do_chores(chores, now);
            timer_.expires_at(chores.next(now));
            const auto [ec] = co_await timer_.async_wait(net::k_use_tuple);
            (void)ec;  // cancelled by stop(): the loop condition says so
        }
        co_await finish();
    }

    // A UDP socket for input on `port` of `address` (bound to the wildcard and joined when multicast); null
    // with `ec` set when it cannot be had.
    std::unique_ptr<udp::socket> bind_input(const asio::ip::address& address, std::uint16_t port,
                                            asio::error_code& ec) {
        auto socket = std::make_unique<udp::socket>(io_);
        const bool multicast = address.is_multicast();
        const asio::ip::address any = address.is_v6() ? asio::ip::address(asio::ip::address_v6::any())
                                                      : asio::ip::address(asio::ip::address_v4::any());
        const udp::endpoint local(multicast ? any : address, port);
        socket->open(local.protocol(), ec);
        if (!ec && multicast) socket->set_option(udp::socket::reuse_address(true), ec);
        if (!ec) socket->bind(local, ec);
        if (!ec && multicast) socket->set_option(asio::ip::multicast::join_group(address), ec);
        if (ec) return nullptr;
        asio::error_code ignored;  // best effort: room for a key frame's burst
        socket->set_option(asio::socket_base::receive_buffer_size(4 << 20), ignored);
        return socket;
    }

    asio::awaitable<void> receive(udp::socket& socket, std::size_t track, bool rtcp) {
        std::vector<std::uint8_t> buffer(65536);
        while (!stopping_) {
            const auto [ec, n] = co_await socket.async_receive(asio::buffer(buffer), net::k_use_tuple);
            if (ec) {
                if (stopping_ || ec == asio::error::operation_aborted) co_return;
                continue;  // e.g. an ICMP error queued on the socket
            }
            const Bytes datagram(buffer.data(), n);
            if (rtcp) {
                on_rtcp(datagram);
            } else {
                on_rtp(track, datagram);
            }
        }
    }

    // What both inputs do while media flows: repeat the description, print progress.
    struct Chores {
        Chores(Clock::time_point start, const RtspBridgeConfig& config)
            : start_time(start),
              next_description(start + config.description_interval),
              next_progress(config.progress_interval.count() > 0 ? start + config.progress_interval
                                                                 : Clock::time_point::max()) {}
        Clock::time_point start_time;
        Clock::time_point next_description;
        Clock::time_point next_progress;  // never with --quiet
        Clock::time_point next(Clock::time_point now) const {
            return std::min({next_description, next_progress, now + std::chrono::milliseconds(200)});
        }
    };

    void do_chores(Chores& chores, Clock::time_point now) {
        if (now >= chores.next_description) {
            chores.next_description = now + config_.description_interval;
            send_description();
        }
        if (now >= chores.next_progress) {
            chores.next_progress = now + config_.progress_interval;
            progress(std::chrono::duration<double>(now - chores.start_time).count());
        }
    }

    // The input is done: the last frames' repairs still get their chance, then the session ends.
    asio::awaitable<void> finish() {
        if (stopping_) co_return;
        for (auto& track : tracks_)
            track->grouper.flush();
        submit_ready();
        timer_.expires_after(config_.drain);
        const auto [ec] = co_await timer_.async_wait(net::k_use_tuple);
        (void)ec;
        if (config_.progress_interval.count() > 0) say("mssr send: the source ended\n");
        stop();
    }

    asio::awaitable<void> session() {
        const auto ended = co_await mssr_->run();
        if (ended == asio::error::timed_out) say("mssr send: the receiver fell silent\n");
        stop();
    }

    void send_description() {
        Adu adu;
        adu.stream = k_description_stream;
        adu.priority = Priority::key;
        adu.data = description_;
        (void)mssr_->submit(std::move(adu));
    }

    void on_frame(std::uint8_t channel, Bytes payload) {
        for (std::size_t i = 0; i < channels_.size(); ++i) {
            if (channel == channels_[i]) return on_rtp(i, payload);
            if (channel == channels_[i] + 1) return on_rtcp(payload);
        }
    }

    void on_rtp(std::size_t index, Bytes payload) {
        last_media_ = Clock::now();
        media_started_ = true;
        Track& track = *tracks_[index];
        bool key = false;
        bool non_reference = false;
        if (track.h264) {
            if (const auto view = rtp::parse_rtp(payload)) {
                const auto summary = proxy::summarize_payload(proxy::VideoCodec::h264, view->payload());
                key = summary.key_start || summary.parameter_set;
                non_reference = summary.non_reference;
            }
        }
        track.grouper.feed(payload, key, non_reference);
        submit_ready();
    }

    // RTCP: a BYE ends the source's stream (serve says it at the end of a file, and so does ffmpeg).
    void on_rtcp(Bytes payload) {
        if (origin_ended_) return;
        if (const auto compound = rtp::parse_compound(payload)) {
            for (const auto& part : *compound)
                if (part.type == rtp::RtcpType::bye) origin_ended_ = true;
        }
        if (origin_ended_) timer_.cancel();  // the SDP input's loop sleeps on it
    }

    void submit_ready() {
        for (auto& track : tracks_) {
            for (Adu& adu : track->grouper.take()) {
                if (mssr_->submit(std::move(adu))) {
                    ++submitted_;
                } else {
                    ++rejected_;
                }
            }
        }
    }

    void progress(double seconds) {
        const Sender* s = mssr_->sender();
        if (!s) return;
        const SenderStats& st = s->stats();
        say(
            fmt::format("mssr send {:.0f}s: adus {} (rejected {}), fragments {}, retransmissions {}, dropped "
                        "unsent {} unrepaired {}, rtt {:.1f} ms, cwnd {} B\n",
                        seconds, submitted_, rejected_, st.fragments_sent, st.retransmissions,
                        st.dropped_unsent, st.dropped_unrepaired,
                        static_cast<double>(s->rtt().srtt().count()) / 1000.0, s->congestion().window()));
    }

    bool write_stats() const {
        if (config_.stats_json.empty()) return true;
        Json json;
        if (mssr_) {
            if (const Sender* s = mssr_->sender()) json["sender"] = sender_stats_json(*s);
            json["socket"] = socket_stats_json(mssr_->stats());
        }
        Json tracks = Json::array();
        for (const auto& track : tracks_) {
            const RtpGrouperStats& g = track->grouper.stats();
            tracks.push_back(Json{{"stream", track->stream},
                                  {"rtp_packets", g.packets},
                                  {"invalid", g.invalid},
                                  {"adus", g.adus},
                                  {"key_adus", g.key_adus},
                                  {"disposable_adus", g.disposable_adus}});
        }
        json["input"] = Json{{"tracks", tracks}, {"submitted", submitted_}, {"rejected", rejected_}};
        std::ofstream out(config_.stats_json);
        out << json.dump(2) << '\n';
        if (!out) say(fmt::format("streamgate: mssr send: cannot write {}\n", config_.stats_json));
        return static_cast<bool>(out);
    }

    const RtspBridgeConfig& config_;
    asio::io_context io_;
    asio::signal_set signals_;
    asio::steady_timer exit_{io_};
    client::RtspClient client_;
    asio::steady_timer timer_;
    std::unique_ptr<Socket> mssr_;
    std::unique_ptr<SessionAdmin> admin_;  // after mssr_: its series read the socket until it goes
    std::vector<std::unique_ptr<Track>> tracks_;
    std::vector<std::uint8_t> channels_;                      // interleaved RTP channel of each track
    std::vector<std::unique_ptr<udp::socket>> rtp_sockets_;   // SDP input: track i's RTP
    std::vector<std::unique_ptr<udp::socket>> rtcp_sockets_;  // SDP input: RTCP (for BYE)
    std::vector<std::uint8_t> description_;
    Clock::time_point last_media_{};
    bool media_started_ = false;
    bool origin_ended_ = false;
    bool stopping_ = false;
    int status_ = 0;
    std::uint64_t submitted_ = 0;
    std::uint64_t rejected_ = 0;
};

}  // namespace

int run_rtsp_send(const RtspBridgeConfig& config) {
    SendRun run(config);
    return run.run();
}

}  // namespace sg::mssr
