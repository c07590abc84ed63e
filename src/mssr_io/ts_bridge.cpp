#include "mssr_io/ts_bridge.hpp"

#include <fmt/format.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "mssr/ts_grouper.hpp"
#include "mssr_io/session_admin.hpp"
#include "mssr_io/stats_json.hpp"
#include "net/udp_batch.hpp"
#include "net/use_tuple.hpp"

namespace sg::mssr {
namespace {

using udp = asio::ip::udp;
using Json = nlohmann::ordered_json;
constexpr std::size_t k_ts_datagram = 7 * k_ts_packet_size;  // 1,316: what ffmpeg and SRT tools send
constexpr std::array<const char*, 2> k_stream_names{"video", "other"};

double millis(std::chrono::microseconds us) {
    return static_cast<double>(us.count()) / 1000.0;
}

bool write_json(const std::string& path, const Json& json) {
    if (path.empty()) return true;
    std::ofstream out(path);
    out << json.dump(2) << '\n';
    if (!out) {
        std::fprintf(stderr, "streamgate: mssr: cannot write %s\n", path.c_str());
        return false;
    }
    return true;
}

// Everything a run shares between its coroutines; stop() ends them all, whichever comes first (a signal,
// the session's end, a failed handshake).
struct Run {
    explicit Run(const TsBridgeConfig& c) : config(c), signals(io, SIGINT, SIGTERM), progress(io) {}
    const TsBridgeConfig& config;
    asio::io_context io;
    asio::signal_set signals;
    asio::steady_timer progress;
    std::unique_ptr<Socket> mssr;
    std::unique_ptr<SessionAdmin> admin;  // after mssr: its series read the socket until it goes
    bool stopping = false;
    int status = 0;
    std::function<void()> on_stop;

    void stop() {
        if (stopping) return;
        stopping = true;
        if (mssr) mssr->close();
        if (admin) admin->stop();
        asio::error_code ec;
        signals.cancel(ec);
        progress.cancel();
        if (on_stop) on_stop();
    }
    bool open(SocketOptions options, const udp::endpoint& local) {
        auto created = Socket::create(io.get_executor(), local, std::move(options));
        if (!created) {
            std::fputs(fmt::format("streamgate: mssr: {}\n", created.error()).c_str(), stderr);
            return false;
        }
        mssr = std::move(*created);
        signals.async_wait([this](const asio::error_code& ec, int) {
            if (!ec) stop();
        });
        return start_session_admin(
            io, config.admin, [this] { return static_cast<const Socket*>(mssr.get()); },
            {k_stream_names.begin(), k_stream_names.end()}, admin);
    }
    // Calls `line` every progress_interval until stop().
    asio::awaitable<void> report(std::function<void(double seconds)> line) {
        if (config.progress_interval.count() <= 0) co_return;
        const auto start = Clock::now();
        while (!stopping) {
            progress.expires_after(config.progress_interval);
            auto [ec] = co_await progress.async_wait(net::k_use_tuple);
            if (ec || stopping) break;
            line(std::chrono::duration<double>(Clock::now() - start).count());
        }
    }
};

struct SendCounters {
    std::uint64_t datagrams = 0;
    std::uint64_t bytes = 0;
    std::uint64_t submitted = 0;
    std::uint64_t rejected = 0;  // the send buffer was full or the ADU too long: the path cannot keep up
    std::uint64_t stale = 0;     // a listening sender: datagrams queued before its receiver called, dropped
};

}  // namespace

int run_ts_send(const TsBridgeConfig& config) {
    Run run(config);
    SocketOptions options = config.options;
    options.role = Role::sender;
    if (!run.open(options, config.mssr.bind_address())) return 2;
    udp::socket input(run.io);
    asio::error_code ec;
    input.open(config.ts.protocol(), ec);
    if (!ec) input.bind(config.ts, ec);
    if (ec) {
        std::fprintf(stderr, "streamgate: mssr send: cannot bind the TS input: %s\n", ec.message().c_str());
        return 2;
    }
    input.set_option(udp::socket::receive_buffer_size(4 << 20), ec);  // best effort: bursts of key frames
    run.on_stop = [&input] {
        asio::error_code ignored;
        input.close(ignored);
    };
    auto grouper = std::make_unique<TsGrouper>();
    SendCounters counters;
    const auto start = Clock::now();
    Socket& mssr = *run.mssr;

    const auto submit_ready = [&] {
        for (TsAdu& ts : grouper->take()) {
            Adu adu;
            adu.stream = ts.stream;
            adu.priority = ts.priority;
            // 90 kHz media time from arrival: the TS inside keeps its own PTS/PCR.
            adu.rtp_timestamp = static_cast<std::uint32_t>(
                std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count() * 9 /
                100);
            adu.data = std::move(ts.data);
            if (mssr.submit(std::move(adu))) {
                ++counters.submitted;
            } else {
                ++counters.rejected;
            }
        }
    };
    const auto progress_line = [&, last_bytes = std::uint64_t{0}](double seconds) mutable {
        const Sender* s = mssr.sender();
        if (!s) return;
        const SenderStats& st = s->stats();
        const double rate = static_cast<double>(counters.bytes - last_bytes) * 8 / 1e6 * 1000.0 /
                            config.progress_interval.count();
        last_bytes = counters.bytes;
        std::fputs(
            fmt::format("mssr send {:.0f}s: in {:.2f} Mbit/s, adus {} (rejected {}), fragments {}, "
                        "retransmissions {}, dropped unsent {} unrepaired {}, rtt {:.1f} ms, cwnd {} B, "
                        "in flight {} B\n",
                        seconds, rate, counters.submitted, counters.rejected, st.fragments_sent,
                        st.retransmissions, st.dropped_unsent, st.dropped_unrepaired, millis(s->rtt().srtt()),
                        s->congestion().window(), s->in_flight())
                .c_str(),
            stderr);
    };

    asio::co_spawn(
        run.io,
        [&]() -> asio::awaitable<void> {
            using namespace asio::experimental::awaitable_operators;
            const auto connected = co_await mssr.meet(config.mssr);
            if (connected) {
                if (!run.stopping) {
                    std::fprintf(stderr, "streamgate: mssr send: no MSSR receiver at the peer: %s\n",
                                 connected.message().c_str());
                    run.status = 1;
                }
                run.stop();
                co_return;
            }
            asio::co_spawn(
                run.io,
                [&]() -> asio::awaitable<void> {
                    const auto ended = co_await mssr.run();
                    if (ended == asio::error::timed_out)
                        std::fputs("mssr send: the receiver fell silent\n", stderr);
                    run.stop();
                },
                asio::detached);
            asio::co_spawn(run.io, run.report(progress_line), asio::detached);
            std::vector<std::uint8_t> buffer(65536);
            if (config.mssr.listen) {
                // A listening sender may wait long for its receiver. What the input queued meanwhile (up to
                // the socket's buffer) is stale: submitted now, it would leave as a burst of old frames. The
                // session starts with what comes next, as a late joiner of a live stream does.
                udp::endpoint from;
                while (net::receive_queued(input, buffer, from))
                    ++counters.stale;
                if (counters.stale > 0 && config.progress_interval.count() > 0) {
                    std::fputs(
                        fmt::format("mssr send: receiver called; {} input datagrams queued before were "
                                    "dropped\n",
                                    counters.stale)
                            .c_str(),
                        stderr);
                }
            }
            asio::steady_timer idle(run.io);
            while (!run.stopping) {
                idle.expires_after(config.input_idle_flush);
                auto result = co_await (input.async_receive(asio::buffer(buffer), net::k_use_tuple) ||
                                        idle.async_wait(net::k_use_tuple));
                if (run.stopping) break;
                if (result.index() == 1) {
                    grouper->flush();  // the input paused: its last access units are complete
                    submit_ready();
                    continue;
                }
                const auto [rec, n] = std::get<0>(result);
                if (rec) continue;  // e.g. an ICMP error queued on the socket
                ++counters.datagrams;
                counters.bytes += n;
                grouper->feed(Bytes(buffer.data(), n));
                submit_ready();
            }
        },
        asio::detached);
    run.io.run();

    Json json;
    if (const Sender* s = mssr.sender()) json["sender"] = sender_stats_json(*s);
    const TsGrouperStats& g = grouper->stats();
    json["input"] = Json{{"datagrams", counters.datagrams},
                         {"bytes", counters.bytes},
                         {"ts_packets", g.packets},
                         {"bad_packets", g.bad_packets},
                         {"null_packets", g.null_packets},
                         {"orphans", g.orphans},
                         {"adus", g.adus},
                         {"key_adus", g.key_adus},
                         {"disposable_adus", g.disposable_adus},
                         {"submitted", counters.submitted},
                         {"rejected", counters.rejected},
                         {"stale_dropped", counters.stale}};
    json["socket"] = socket_stats_json(mssr.stats());
    if (!write_json(config.stats_json, json) && run.status == 0) run.status = 1;
    return run.status;
}

int run_ts_recv(const TsBridgeConfig& config) {
    Run run(config);
    SocketOptions options = config.options;
    options.role = Role::receiver;
    if (!run.open(options, config.mssr.bind_address())) return 2;
    udp::socket output(run.io);
    asio::error_code ec;
    output.open(config.ts.protocol(), ec);
    if (ec) {
        std::fprintf(stderr, "streamgate: mssr recv: cannot open the TS output: %s\n", ec.message().c_str());
        return 2;
    }
    output.non_blocking(true, ec);
    Socket& mssr = *run.mssr;
    struct {
        std::uint64_t adus = 0;
        std::uint64_t partial = 0;  // of which given up at the deadline and written in part
        std::uint64_t datagrams = 0;
        std::uint64_t bytes = 0;
        std::uint64_t errors = 0;  // refused or would block: the local reader is gone or too slow
    } out;

    // An ADU is whole TS packets: out they go as they came, in 1,316-octet datagrams. Of a partial ADU (given
    // up at its deadline, missing ranges zero-filled) only the packets that still start with the sync byte go
    // out, so the reader sees a gap in the TS, as after a UDP loss; with --mss 1340 fragments are exactly 7
    // TS packets, so no packet is half zero. A lost ADU writes nothing.
    std::vector<std::uint8_t> kept;
    const auto write = [&](Bytes data) {
        for (std::size_t at = 0; at < data.size(); at += k_ts_datagram) {
            const std::size_t n = std::min(k_ts_datagram, data.size() - at);
            asio::error_code send_ec;
            output.send_to(asio::buffer(data.data() + at, n), config.ts, 0, send_ec);
            if (send_ec) {
                ++out.errors;
            } else {
                ++out.datagrams;
                out.bytes += n;
            }
        }
    };
    mssr.on_delivery([&](Delivery d) {
        if (d.outcome == Delivery::Outcome::lost) return;
        ++out.adus;
        if (d.outcome == Delivery::Outcome::complete) {
            write(d.data);
            return;
        }
        ++out.partial;
        kept.clear();
        for (std::size_t at = 0; at + k_ts_packet_size <= d.data.size(); at += k_ts_packet_size) {
            if (d.data[at] == 0x47)
                kept.insert(kept.end(), d.data.begin() + static_cast<std::ptrdiff_t>(at),
                            d.data.begin() + static_cast<std::ptrdiff_t>(at + k_ts_packet_size));
        }
        write(kept);
    });
    const auto progress_line = [&](double seconds) {
        const Reassembler* r = mssr.receiver();
        if (!r) return;
        std::string line = fmt::format("mssr recv {:.0f}s: out {} datagrams", seconds, out.datagrams);
        for (std::size_t i = 0; i < k_stream_names.size(); ++i) {
            const StreamStats& st = r->stream_stats(static_cast<std::uint8_t>(i));
            line +=
                fmt::format(", {}: fragments {} adus complete {} lost {} (key broken {}) late fragments {}",
                            k_stream_names[i], st.fragments, st.adus_complete, st.adus_lost,
                            st.key_adus_incomplete, st.late_fragments);
        }
        line += fmt::format(", nacks {}\n", r->stats().nacks);
        std::fputs(line.c_str(), stderr);
    };
    asio::co_spawn(
        run.io,
        [&]() -> asio::awaitable<void> {
            if (const auto met = co_await mssr.meet(config.mssr)) {
                if (!run.stopping) {  // a listener's wait ends only when it is closed; a call can time out
                    std::fprintf(stderr, "streamgate: mssr recv: no MSSR sender at the peer: %s\n",
                                 met.message().c_str());
                    run.status = 1;
                }
                run.stop();
                co_return;
            }
            asio::co_spawn(run.io, run.report(progress_line), asio::detached);
            const auto ended = co_await mssr.run();
            if (ended == asio::error::timed_out) std::fputs("mssr recv: the sender fell silent\n", stderr);
            run.stop();
        },
        asio::detached);
    run.io.run();

    Json json;
    Json streams = Json::array();
    if (const Reassembler* r = mssr.receiver()) {
        for (std::size_t i = 0; i < k_stream_names.size(); ++i) {
            const StreamStats& st = r->stream_stats(static_cast<std::uint8_t>(i));
            Json stream{{"stream", i}, {"name", k_stream_names[i]}};
            stream.update(stream_stats_json(st));
            streams.push_back(std::move(stream));
        }
        json["receiver"] = receiver_stats_json(*r, Clock::now());
    }
    json["streams"] = streams;
    json["output"] = Json{{"adus", out.adus},
                          {"partial_adus", out.partial},
                          {"datagrams", out.datagrams},
                          {"bytes", out.bytes},
                          {"errors", out.errors}};
    json["socket"] = socket_stats_json(mssr.stats());
    return write_json(config.stats_json, json) ? run.status : 1;
}

}  // namespace sg::mssr
