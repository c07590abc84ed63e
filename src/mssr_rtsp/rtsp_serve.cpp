// `streamgate mssr recv --serve rtsp://ADDR:PORT/NAME`: an MSSR receiver whose ADUs feed one mount of the
// RTSP proxy machinery (MountConfig::fed), so any player reads the origin's stream from rtsp://ADDR:PORT/NAME
// over UDP or interleaved TCP, in either family, with the proxy's per-player rewriting, key-frame start and
// RTCP.

#include <fmt/format.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "mssr/rtp_adu.hpp"
#include "mssr_io/stats_json.hpp"
#include "mssr_rtsp/bridge_admin.hpp"
#include "mssr_rtsp/rtp_out_sdp.hpp"
#include "net/asio_endpoint.hpp"
#include "proxy/mount_description.hpp"
#include "proxy/rtsp_proxy.hpp"

namespace sg::mssr {
namespace {

using Json = nlohmann::ordered_json;
constexpr std::size_t k_streams = k_max_session_streams;

void say(const std::string& line) {
    std::fputs(line.c_str(), stderr);
}

struct ServeCounters {
    std::uint64_t descriptions = 0;        // session description ADUs received
    std::uint64_t bad_descriptions = 0;    // unusable ones
    std::uint64_t before_description = 0;  // media ADUs that arrived before any description (dropped)
    std::uint64_t adus = 0;
    std::uint64_t partial_adus = 0;
    std::uint64_t lost_adus = 0;
    std::uint64_t rtp_packets = 0;
    std::uint64_t rtp_out_errors = 0;  // --rtp: sends refused or that would block
};

class ServeRun {
public:
    explicit ServeRun(const RtspBridgeConfig& config) : config_(config), signals_(io_, SIGINT, SIGTERM) {}

    int run() {
        if (config_.serve_rtsp && !open_mount()) return 2;
        if (config_.rtp_out) {
            asio::error_code ec;
            rtp_out_.open(config_.rtp_out->protocol(), ec);
            if (!ec) rtp_out_.non_blocking(true, ec);
            if (ec) {
                say(fmt::format("streamgate: mssr recv: cannot open the RTP output: {}\n", ec.message()));
                return 2;
            }
        }
        return run_session();
    }

private:
    bool open_mount() {
        proxy::RtspProxyOptions options;
        proxy::MountConfig mount;
        mount.name = config_.mount;
        mount.fed = true;
        options.mounts.push_back(mount);
        options.allow = config_.allow;
        // A player that connects before the sender waits this long for the description.
        options.timing.first_media = std::chrono::milliseconds(10000);
        proxy_ = std::make_unique<proxy::RtspProxy>(io_, options, nullptr);
        std::string error;
        if (!proxy_->listen(config_.serve, error)) {
            say(fmt::format("streamgate: mssr recv: cannot listen on {}: {}\n", net::to_string(config_.serve),
                            error));
            return false;
        }
        mount_ = proxy_->find_mount(config_.mount);
        return true;
    }

    int run_session() {
        SocketOptions socket_options = config_.options;
        socket_options.role = Role::receiver;
        auto created = Socket::create(io_.get_executor(), config_.mssr.bind_address(), socket_options);
        if (!created) {
            say(fmt::format("streamgate: mssr recv: {}\n", created.error()));
            return 2;
        }
        mssr_ = std::move(*created);
        mssr_->on_delivery([this](Delivery d) { on_delivery(std::move(d)); });
        if (!start_admin(config_, io_, admin_, [this] { return static_cast<const Socket*>(mssr_.get()); }))
            return 2;
        signals_.async_wait([this](const asio::error_code& ec, int) {
            if (!ec) stop();
        });
        asio::co_spawn(io_, session(), [this](const std::exception_ptr& e) {
            if (e) {
                say("streamgate: mssr recv: unexpected error\n");
                status_ = 1;
            }
            stop();
        });
        io_.run();
        return write_stats() ? status_ : 1;
    }

    void stop() {
        if (stopping_) return;
        stopping_ = true;
        asio::error_code ignored;
        signals_.cancel(ignored);
        // Whatever still runs (a player's connection, a request in flight) gets a moment, not forever.
        exit_.expires_after(std::chrono::seconds(2));
        exit_.async_wait([this](const asio::error_code&) { io_.stop(); });
        if (mssr_) mssr_->close();
        if (admin_) admin_->stop();
        if (mount_) mount_->stop("mssr session ended");  // the players' log says why
        if (proxy_) proxy_->shutdown();
    }

    asio::awaitable<void> session() {
        if (const auto met = co_await mssr_->meet(config_.mssr)) {
            if (!stopping_) {  // a listener's wait ends only when it is closed; a call can time out
                say(fmt::format("streamgate: mssr recv: no MSSR sender at the peer: {}\n", met.message()));
                status_ = 1;
            }
            co_return;
        }
        if (config_.progress_interval.count() > 0) say("mssr recv: sender connected\n");
        const auto ended = co_await mssr_->run();
        if (ended == asio::error::timed_out) say("mssr recv: the sender fell silent\n");
    }

    void on_delivery(Delivery d) {
        if (d.stream == k_description_stream) {
            if (d.outcome == Delivery::Outcome::complete) on_description(d.data);
            return;
        }
        if (d.outcome == Delivery::Outcome::lost) {
            counters_.lost_adus += d.lost_count;
            return;
        }
        const int track = d.stream < k_streams ? track_of_stream_[d.stream] : -1;
        if (!described_ || track < 0) {
            ++counters_.before_description;
            return;
        }
        ++counters_.adus;
        if (d.outcome == Delivery::Outcome::partial) ++counters_.partial_adus;
        const auto t = static_cast<std::size_t>(track);
        counters_.rtp_packets += for_each_rtp_packet(d.data, d.rtp_timestamp, d.received, d.fragment_size,
                                                     [this, t](Bytes packet) { emit(t, packet); });
    }

    void emit(std::size_t track, Bytes packet) {
        if (mount_) mount_->feed_rtp(track, packet);
        if (config_.rtp_out) {
            asio::error_code ec;
            const asio::ip::udp::endpoint to(config_.rtp_out->address(),
                                             rtp_out_port(config_.rtp_out->port(), track));
            rtp_out_.send_to(asio::buffer(packet.data(), packet.size()), to, 0, ec);
            if (ec) ++counters_.rtp_out_errors;
        }
    }

    // The first usable description starts the mount; the sender's repeats of it change nothing.
    void on_description(Bytes adu) {
        ++counters_.descriptions;
        if (described_) return;
        auto description = parse_session_description(adu);
        if (!description) {
            ++counters_.bad_descriptions;
            return;
        }
        auto mount_description = proxy::describe_mount(description->sdp);
        const std::size_t tracks = mount_description ? mount_description->clock_rates.size() : 0;
        if (!mount_description || tracks != description->track_streams.size()) {
            ++counters_.bad_descriptions;
            return;
        }
        for (std::size_t i = 0; i < tracks; ++i)
            track_of_stream_[description->track_streams[i]] = static_cast<int>(i);
        if (config_.rtp_out && !write_sdp_file(description->sdp)) {
            ++counters_.bad_descriptions;
            return;
        }
        described_ = true;
        if (mount_) mount_->feed_start(std::move(*mount_description));
        if (mount_ && config_.progress_interval.count() > 0)
            say(fmt::format("mssr recv: serving rtsp://{}/{} ({} tracks)\n", net::to_string(config_.serve),
                            config_.mount, tracks));
    }

    // --sdp FILE: what a player of the --rtp output needs.
    bool write_sdp_file(const std::string& origin_sdp) {
        const auto address = config_.rtp_out->address();
        const auto sdp =
            rtp_out_sdp(origin_sdp, address.to_string(), address.is_v6(), config_.rtp_out->port());
        if (!sdp) {
            say(fmt::format("streamgate: mssr recv: no SDP file for --rtp: {}\n", sdp.error()));
            return false;
        }
        std::ofstream out(config_.sdp_file, std::ios::trunc);
        out << *sdp;
        out.close();
        if (!out) {
            say(fmt::format("streamgate: mssr recv: cannot write {}\n", config_.sdp_file));
            return false;
        }
        if (config_.progress_interval.count() > 0)
            say(fmt::format("mssr recv: RTP to {} port {} and up, described in {}\n", address.to_string(),
                            config_.rtp_out->port(), config_.sdp_file));
        return true;
    }

    bool write_stats() const {
        if (config_.stats_json.empty()) return true;
        Json json;
        Json streams = Json::array();
        if (mssr_) {
            if (const Reassembler* r = mssr_->receiver()) {
                for (std::size_t i = 0; i < k_streams; ++i) {
                    const StreamStats& st = r->stream_stats(static_cast<std::uint8_t>(i));
                    if (st.fragments == 0 && st.adus_lost == 0) continue;
                    Json stream{{"stream", i}, {"track", track_of_stream_[i]}};
                    stream.update(stream_stats_json(st));
                    streams.push_back(std::move(stream));
                }
                json["receiver"] = receiver_stats_json(*r, Clock::now());
            }
        }
        json["streams"] = streams;
        json["output"] = Json{{"descriptions", counters_.descriptions},
                              {"bad_descriptions", counters_.bad_descriptions},
                              {"before_description", counters_.before_description},
                              {"adus", counters_.adus},
                              {"partial_adus", counters_.partial_adus},
                              {"lost_adus", counters_.lost_adus},
                              {"rtp_packets", counters_.rtp_packets},
                              {"rtp_out_errors", counters_.rtp_out_errors}};
        std::ofstream out(config_.stats_json);
        out << json.dump(2) << '\n';
        if (!out) say(fmt::format("streamgate: mssr recv: cannot write {}\n", config_.stats_json));
        return static_cast<bool>(out);
    }

    const RtspBridgeConfig& config_;
    asio::io_context io_;
    asio::signal_set signals_;
    asio::steady_timer exit_{io_};
    std::unique_ptr<proxy::RtspProxy> proxy_;
    std::shared_ptr<proxy::Mount> mount_;
    std::unique_ptr<Socket> mssr_;
    std::unique_ptr<SessionAdmin> admin_;  // after mssr_: its series read the socket until it goes
    asio::ip::udp::socket rtp_out_{io_};
    std::array<int, k_streams> track_of_stream_ = [] {
        std::array<int, k_streams> a{};
        a.fill(-1);
        return a;
    }();
    bool described_ = false;
    bool stopping_ = false;
    int status_ = 0;
    ServeCounters counters_;
};

}  // namespace

int run_rtsp_serve(const RtspBridgeConfig& config) {
    ServeRun run(config);
    return run.run();
}

}  // namespace sg::mssr
