// `streamgate mssr send|recv`: MPEG-TS over UDP carried across a lossy path by MSSR-RTP (docs/mssr.md), where
// `srt-live-transmit udp://... srt://...` would be used.

#include <asio/ip/address.hpp>
#include <asio/ip/tcp.hpp>
#include <iostream>
#include <memory>
#include <optional>

#include "app/subcommand.hpp"
#include "mssr/live_window.hpp"
#include "mssr_io/ts_bridge.hpp"
#include "mssr_rtsp/rtsp_bridge.hpp"
#include "net/cidr.hpp"
#include "net/endpoint.hpp"
#include "net/relay.hpp"
#include "rtsp/url.hpp"

namespace sg::app {
namespace {

struct MssrFlags {
    std::string input;               // send: udp://HOST:PORT or rtsp://ORIGIN/...
    std::string to;                  // send: the receiver's HOST:PORT, which it calls
    std::string listen;              // either: HOST:PORT to wait for the other end on
    std::string from;                // recv: the sender's HOST:PORT, which it calls
    std::string ts_out;              // recv: udp://HOST:PORT
    std::string serve;               // recv: rtsp://ADDR:PORT/NAME
    std::vector<std::string> allow;  // recv --serve: players allowed
    std::string rtp;                 // recv: HOST:PORT for plain RTP out
    std::string sdp;                 // recv --rtp: the SDP file written
    unsigned latency = 120;
    unsigned audio_latency = 0;  // 0: as --latency
    unsigned mss = 548;
    double loss_tolerance = 0.0;
    unsigned stream_kbps = 0;
    bool no_parity = false;  // send: the first fragment's copy instead of parity (SocketOptions::parity)
    unsigned key_parity_group = 8;       // send: SocketOptions::key_parity_group
    std::string parity_code = "cauchy";  // send: SocketOptions::cauchy_parity
    std::string parity_count = "auto";   // send: SocketOptions::adaptive_parity and parity_rule
    double parity_worth = 0.15;          // send: SocketOptions::parity_frames_per_datagram
    double parity_residual = 0.02;       // send: SocketOptions::parity_residual
    // send: SocketOptions::pacing; "auto" paces the TCP-friendly modes and not the live mode
    std::string pacing = "auto";
    std::string stats_json;
    std::string admin;  // HOST:PORT for Prometheus /metrics
    bool quiet = false;
};

// HOST:PORT with HOST an IP literal, as everywhere a streamgate socket binds or sends.
template <typename Endpoint>
std::optional<Endpoint> ip_endpoint(std::string_view text, const char* what) {
    const auto hp = net::parse_host_port(text);
    asio::error_code ec;
    const auto address = hp ? asio::ip::make_address(hp->host, ec) : asio::ip::address{};
    if (!hp || ec) {
        std::cerr << "streamgate: mssr: " << what << ' ' << text << ": want IP:PORT or [IPV6]:PORT\n";
        return std::nullopt;
    }
    return Endpoint(address, hp->port);
}

// HOST:PORT or udp://HOST:PORT[?options] (ffmpeg's query options such as pkt_size are ignored).
std::optional<asio::ip::udp::endpoint> udp_endpoint(std::string_view text, const char* what) {
    if (text.starts_with("udp://")) text.remove_prefix(6);
    if (const auto query = text.find('?'); query != std::string_view::npos) text = text.substr(0, query);
    return ip_endpoint<asio::ip::udp::endpoint>(text, what);
}

// Where this end meets the other: it waits at --listen, or calls --to (send) or --from (recv). The option
// group lets exactly one through.
std::optional<mssr::Rendezvous> rendezvous(const MssrFlags& flags, bool send) {
    if (!flags.listen.empty()) {
        const auto address = udp_endpoint(flags.listen, "--listen");
        if (!address) return std::nullopt;
        return mssr::Rendezvous{*address, true};
    }
    const auto address = send ? udp_endpoint(flags.to, "--to") : udp_endpoint(flags.from, "--from");
    if (!address) return std::nullopt;
    return mssr::Rendezvous{*address, false};
}

// rtsp://ADDR[:PORT]/NAME with ADDR an IP literal: where `mssr recv --serve` listens and the mount's name.
bool serve_target(std::string_view text, asio::ip::tcp::endpoint& endpoint, std::string& mount) {
    const auto url = rtsp::parse_url(text);
    asio::error_code ec;
    const auto address = url ? asio::ip::make_address(url->host, ec) : asio::ip::address{};
    if (url) {
        mount = url->path;
        while (!mount.empty() && mount.front() == '/')
            mount.erase(0, 1);
    }
    if (!url || ec || url->scheme != "rtsp" || mount.empty() ||
        mount.find_first_of("/?") != std::string::npos) {
        std::cerr << "streamgate: mssr: --serve " << text << ": want rtsp://IP:PORT/NAME\n";
        return false;
    }
    endpoint = asio::ip::tcp::endpoint(address, url->effective_port());
    return true;
}

mssr::SocketOptions socket_options(const MssrFlags& flags) {
    mssr::SocketOptions options;
    options.mss = flags.mss;
    // Partial: a frame still incomplete at its deadline goes out with what arrived (the receiver writes its
    // whole TS packets only), as plain UDP would deliver it, rather than not at all: a decoder conceals a
    // damaged frame, but a key frame dropped whole takes its parameter sets and the GOP with it.
    const mssr::StreamPolicy video{std::chrono::milliseconds(flags.latency), mssr::RetransmitMode::by_value,
                                   mssr::LatePolicy::partial};
    mssr::StreamPolicy other = video;
    if (flags.audio_latency != 0) other.latency = std::chrono::milliseconds(flags.audio_latency);
    options.streams = {video, other};  // TsGrouper's stream 0 (video) and 1 (audio, anything else)
    options.congestion.loss_tolerance = flags.loss_tolerance;
    options.congestion = mssr::live_congestion(options.congestion, flags.stream_kbps,
                                               std::chrono::milliseconds(flags.latency), flags.mss);
    options.live_rate_kbps = flags.stream_kbps;
    options.parity = !flags.no_parity;
    options.key_parity_group = static_cast<std::uint8_t>(flags.key_parity_group);
    options.cauchy_parity = flags.parity_code == "cauchy";
    options.adaptive_parity = flags.parity_count != "groups";
    options.parity_rule =
        flags.parity_count == "residual" ? mssr::ParityRule::residual : mssr::ParityRule::value;
    options.parity_frames_per_datagram = flags.parity_worth;
    options.parity_residual = flags.parity_residual;
    // The live mode exists to carry the stream at its own rate within its budget; pacing there spreads a key
    // frame over much of a tight budget (docs/mssr.md, "Pacing"), so it is the operator's choice.
    options.pacing = flags.pacing == "on" || (flags.pacing == "auto" && flags.stream_kbps == 0);
    return options;
}

}  // namespace

Subcommand add_mssr_command(CLI::App& app) {
    auto* mssr = app.add_subcommand("mssr", "Carry MPEG-TS over a lossy path with MSSR-RTP (send | recv)");
    mssr->require_subcommand(1);
    auto flags = std::make_shared<MssrFlags>();
    auto* send = mssr->add_subcommand("send", "Read MPEG-TS over UDP and send it to an MSSR receiver");
    send->add_option("SOURCE", flags->input,
                     "udp://HOST:PORT where the MPEG-TS arrives (bound here), rtsp://ORIGIN/PATH to play, or "
                     "FILE.sdp describing RTP over UDP (as ffmpeg -f rtp -sdp_file writes it)")
        ->required();
    auto* send_meets =
        send->add_option_group("rendezvous", "Where the sender and the receiver meet (one of)");
    send_meets->add_option("--to", flags->to, "Call the receiver waiting at HOST:PORT (its recv --listen)");
    send_meets->add_option(
        "--listen", flags->listen,
        "Wait at HOST:PORT for the receiver to call (its recv --from), as an SRT listener");
    send_meets->require_option(1);
    send->add_option("--latency", flags->latency,
                     "Latency budget in ms: a frame not delivered by then is given up (default 120)")
        ->check(CLI::Range(1U, 30000U));
    send->add_option("--audio-latency", flags->audio_latency,
                     "Budget of the audio stream (default: --latency)")
        ->check(CLI::Range(0U, 30000U));
    send->add_option("--mss", flags->mss,
                     "Datagram size (RTP packet) in octets; 548 fits any IPv4 path, 1340 carries SRT's 1316 "
                     "(default 548)")
        ->check(CLI::Range(64U, 65507U));
    send->add_option("--loss-tolerance", flags->loss_tolerance,
                     "Ignore loss events while the recent loss fraction stays below this (0-0.5; default 0: "
                     "TCP-friendly NewReno). For links with known random loss; see docs/mssr.md")
        ->check(CLI::Range(0.0, 0.5));
    send->add_option(
            "--stream-kbps", flags->stream_kbps,
            "Live mode: the stream's peak rate in kbit/s; the congestion window never shrinks below "
            "what carries it for one latency budget (not TCP-friendly; default 0: off). See docs/mssr.md")
        ->check(CLI::Range(0U, 10000000U));
    send->add_flag("--no-parity", flags->no_parity,
                   "Where the budget leaves no time for a repair, send each frame's first fragment twice "
                   "instead of a parity fragment that rebuilds any one lost fragment (see docs/mssr.md)");
    send->add_option("--key-parity-group", flags->key_parity_group,
                     "With parity, a key frame gets one parity fragment per this many of its fragments (0: "
                     "one per frame; default 8)")
        ->check(CLI::Range(0U, 255U));
    send->add_option("--parity-code", flags->parity_code,
                     "The code of a key frame's parity fragments: cauchy (default; any N of them rebuild any "
                     "N lost fragments) or xor (interleaved groups, each rebuilding one lost fragment of its "
                     "group). A receiver built before cauchy gets xor")
        ->check(CLI::IsMember({"cauchy", "xor"}));
    send->add_option(
            "--parity-count", flags->parity_count,
            "How many parity fragments a protected frame gets, from the loss the sender measures: "
            "value (or auto, the default: as many as are worth their datagram, by how many frames a "
            "broken frame spoils; see --parity-worth), residual (as leave a frame broken with a fixed "
            "chance; see --parity-residual) or groups (one per frame, one per --key-parity-group "
            "fragments of a key frame). A receiver built before version 3 headers gets groups")
        ->check(CLI::IsMember({"auto", "value", "residual", "groups"}));
    send->add_option("--parity-worth", flags->parity_worth,
                     "With --parity-count value: how many spoiled frames a parity fragment must save, on "
                     "average, to be sent; lower buys cleaner video with more overhead (default 0.15)")
        ->check(CLI::Range(0.001, 100.0));
    send->add_option("--parity-residual", flags->parity_residual,
                     "With --parity-count residual: the chance a protected reference frame may still arrive "
                     "broken at the measured loss; a key frame gets a tenth of it, a disposable frame 0.5 "
                     "(default 0.02)")
        ->check(CLI::Range(0.0001, 0.5));
    send->add_option(
            "--pacing", flags->pacing,
            "Spread datagrams over the round trip at 1.2 times the window per RTT instead of sending a "
            "window's worth at once: on, off, or auto (default: on, but off in the live mode of "
            "--stream-kbps). See docs/mssr.md")
        ->check(CLI::IsMember({"auto", "on", "off"}));
    send->add_option("--stats-json", flags->stats_json, "Write the session's statistics here at exit");
    send->add_option("--admin", flags->admin, "Prometheus /metrics listener HOST:PORT (default: none)");
    send->add_flag("--quiet", flags->quiet, "No progress line on stderr");

    auto* recv = mssr->add_subcommand("recv", "Receive from an MSSR sender and write MPEG-TS over UDP");
    auto* recv_meets =
        recv->add_option_group("rendezvous", "Where the sender and the receiver meet (one of)");
    recv_meets->add_option("--listen", flags->listen,
                           "Wait at HOST:PORT for the sender to call (its send --to)");
    recv_meets->add_option("--from", flags->from,
                           "Call the sender waiting at HOST:PORT (its send --listen), as an SRT caller");
    recv_meets->require_option(1);
    auto* ts_out = recv->add_option("--ts-out", flags->ts_out, "udp://HOST:PORT to write the MPEG-TS to");
    auto* serve = recv->add_option("--serve", flags->serve,
                                   "rtsp://IP:PORT/NAME: serve an RTSP sender's stream to players there");
    auto* rtp =
        recv->add_option("--rtp", flags->rtp,
                         "IP:PORT: re-emit an RTSP sender's RTP there, track i on PORT + 2 i (needs --sdp)");
    auto* sdp = recv->add_option("--sdp", flags->sdp, "With --rtp: write the SDP describing that RTP here");
    rtp->needs(sdp);
    sdp->needs(rtp);
    ts_out->excludes(serve);
    ts_out->excludes(rtp);
    recv->add_option("--allow", flags->allow,
                     "With --serve: players allowed, CIDR (repeatable; default loopback)");
    recv->add_option("--stats-json", flags->stats_json, "Write per-stream statistics here at exit");
    recv->add_option("--admin", flags->admin, "Prometheus /metrics listener HOST:PORT (default: none)");
    recv->add_flag("--quiet", flags->quiet, "No progress line on stderr");

    const auto run = [flags, send]() -> int {
        net::ignore_sigpipe();
        std::optional<asio::ip::tcp::endpoint> admin;
        if (!flags->admin.empty()) {
            admin = ip_endpoint<asio::ip::tcp::endpoint>(flags->admin, "--admin");
            if (!admin) return 2;
        }
        if (send->parsed() && (flags->input.starts_with("rtsp://") || flags->input.ends_with(".sdp"))) {
            mssr::RtspBridgeConfig config;
            config.admin = admin;
            (flags->input.starts_with("rtsp://") ? config.source_url : config.source_sdp_file) = flags->input;
            config.options = socket_options(*flags);
            config.stats_json = flags->stats_json;
            if (flags->quiet) config.progress_interval = std::chrono::milliseconds(0);
            const auto meet = rendezvous(*flags, true);
            if (!meet) return 2;
            config.mssr = *meet;
            return mssr::run_rtsp_send(config);
        }
        if (!send->parsed() && (!flags->serve.empty() || !flags->rtp.empty())) {
            mssr::RtspBridgeConfig config;
            config.admin = admin;
            config.stats_json = flags->stats_json;
            if (flags->quiet) config.progress_interval = std::chrono::milliseconds(0);
            const auto meet = rendezvous(*flags, false);
            if (!meet) return 2;
            config.mssr = *meet;
            if (!flags->serve.empty()) {
                if (!serve_target(flags->serve, config.serve, config.mount)) return 2;
                config.serve_rtsp = true;
            }
            if (!flags->rtp.empty()) {
                config.rtp_out = udp_endpoint(flags->rtp, "--rtp");
                if (!config.rtp_out) return 2;
                config.sdp_file = flags->sdp;
            }
            for (const auto& text : flags->allow) {
                const auto cidr = net::Cidr::parse(text);
                if (!cidr) {
                    std::cerr << "streamgate: mssr: --allow " << text << ": " << cidr.error() << '\n';
                    return 2;
                }
                config.allow.push_back(*cidr);
            }
            return mssr::run_rtsp_serve(config);
        }
        if (!send->parsed() && flags->ts_out.empty()) {
            std::cerr << "streamgate: mssr recv: --ts-out, --serve or --rtp is required\n";
            return 2;
        }
        mssr::TsBridgeConfig config;
        config.admin = admin;
        config.options = socket_options(*flags);
        config.stats_json = flags->stats_json;
        if (flags->quiet) config.progress_interval = std::chrono::milliseconds(0);
        const auto meet = rendezvous(*flags, send->parsed());
        if (!meet) return 2;
        config.mssr = *meet;
        if (send->parsed()) {
            const auto input = udp_endpoint(flags->input, "SOURCE");
            if (!input) return 2;
            config.ts = *input;
            return mssr::run_ts_send(config);
        }
        const auto output = udp_endpoint(flags->ts_out, "--ts-out");
        if (!output) return 2;
        config.ts = *output;
        return mssr::run_ts_recv(config);
    };
    return {mssr, run};
}

}  // namespace sg::app
