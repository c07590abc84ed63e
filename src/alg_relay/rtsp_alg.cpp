#include "alg_relay/rtsp_alg.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/write.hpp>
#include <map>
#include <optional>
#include <string_view>
#include <utility>
#include <variant>

#include "alg/alg_machine.hpp"
#include "alg_relay/media_relay.hpp"
#include "common/text.hpp"
#include "metrics/registry.hpp"
#include "net/asio_endpoint.hpp"
#include "net/rate_limited_log.hpp"
#include "net/use_tuple.hpp"

namespace sg::alg {
namespace {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr std::size_t k_read_chunk = 16384;

// IPv6 literals go into Transport without brackets (the formatter adds what the syntax needs).
std::string host_of(const asio::ip::address& address) {
    return net::unmap(address).to_string();
}

// The I/O half: reads both ends, feeds the bytes to the message state machine (alg/alg_machine.hpp),
// carries out its actions on the media relays and writes what it hands back.
class AlgSession {
public:
    AlgSession(tcp::socket& client, tcp::socket& origin, std::shared_ptr<RtspAlg> alg,
               Clock::duration idle_timeout, asio::any_io_executor executor)
        : client_(client),
          origin_(origin),
          alg_(std::move(alg)),
          idle_timeout_(idle_timeout),
          executor_(std::move(executor)),
          half_closed_(executor_, Clock::time_point::max()),
          machine_(machine_config()) {}

    asio::awaitable<AlgResult> run(std::vector<std::uint8_t> client_bytes) {
        using namespace asio::experimental::awaitable_operators;
        alg_->stats()->sessions.fetch_add(1, std::memory_order_relaxed);
        std::vector<std::uint8_t> origin_bytes;  // named: no temporaries across a co_await (g++ 12)
        co_await (pump(Direction::client_to_origin, std::move(client_bytes)) ||
                  pump(Direction::origin_to_client, std::move(origin_bytes)) || watchdog());
        stop_relays(end_.empty() ? "control connection closed" : end_);
        result_.media_relays = machine_.media_relays();
        result_.refused_setups = machine_.refused_setups();
        result_.fell_back = machine_.fell_back();
        result_.end_reason = end_.empty() ? "closed" : std::string(end_);
        co_return result_;
    }

private:
    // Reads the four addresses before the machine is built from them (members are initialised in order).
    AlgMachineConfig machine_config() {
        asio::error_code ec;
        client_ip_ = net::unmap(client_.remote_endpoint(ec).address());
        client_local_ = net::unmap(client_.local_endpoint(ec).address());
        origin_ip_ = net::unmap(origin_.remote_endpoint(ec).address());
        origin_local_ = net::unmap(origin_.local_endpoint(ec).address());
        AlgMachineConfig config;
        config.limits = alg_->options().limits;
        config.max_relays = alg_->options().max_relays_per_session;
        config.origin_facing_host = host_of(origin_local_);
        config.client_facing_host = host_of(client_local_);
        config.client_host = host_of(client_ip_);
        config.rewrite_sdp_family = client_local_.is_v4() != origin_ip_.is_v4();
        config.client_facing_ipv6 = client_local_.is_v6();
        return config;
    }

    void end(std::string_view why) {
        if (end_.empty()) end_ = why;
    }

    // One direction: feed what `from` sends to the machine, forward what it hands back. Returns when the
    // whole connection is over (an error on either side, or EOF from both).
    asio::awaitable<void> pump(Direction direction, std::vector<std::uint8_t> bytes) {
        const bool from_client = direction == Direction::client_to_origin;
        tcp::socket& from = from_client ? client_ : origin_;
        tcp::socket& to = from_client ? origin_ : client_;
        std::uint64_t& counted =
            from_client ? result_.bytes_client_to_origin : result_.bytes_origin_to_client;
        counted += bytes.size();
        std::vector<std::uint8_t> chunk(k_read_chunk);
        AlgStep step;
        std::vector<std::uint8_t> out;
        Bytes input = bytes;
        for (;;) {
            forget_ended_relays();
            out.clear();
            for (;;) {
                machine_.feed(direction, input, step);
                input = {};
                execute(step.actions, direction);
                out.insert(out.end(), step.bytes.begin(), step.bytes.end());
                if (!step.open) break;
                open_relay(*step.open);
            }
            if (!out.empty()) {
                auto [ec, n] = co_await asio::async_write(to, asio::buffer(out), net::k_use_tuple);
                if (ec) {
                    end("reset");
                    co_return;
                }
            }
            auto [ec, n] = co_await from.async_read_some(asio::buffer(chunk), net::k_use_tuple);
            if (ec == asio::error::eof) {
                // Pass the half-close on; the connection ends when the other side closes too.
                asio::error_code ignored;
                to.shutdown(tcp::socket::shutdown_send, ignored);
                // A player that closes its control connection has left (it cannot TEARDOWN any more), and an
                // origin that closes it has stopped serving: the media ports go now, not at the timeout.
                stop_relays(from_client ? "client closed" : "origin closed");
                if (++eofs_ == 2) co_return;
                co_await half_closed_.async_wait(net::k_use_tuple);  // until the other direction ends it all
                co_return;
            }
            if (ec) {
                end("reset");
                co_return;
            }
            counted += n;
            last_activity_ = Clock::now();
            input = Bytes(chunk).first(n);
        }
    }

    // The machine's question: two port pairs, origin-facing then client-facing.
    void open_relay(const OpenRelay& open) {
        auto origin_pair = alg_->ports().open_pair(executor_, origin_local_);
        auto client_pair = origin_pair ? alg_->ports().open_pair(executor_, client_local_) : std::nullopt;
        if (!origin_pair || !client_pair) {
            machine_.relay_unavailable(open.id);
            return;
        }
        const std::uint16_t origin_port = origin_pair->rtp_port();
        const std::uint16_t client_port = client_pair->rtp_port();
        auto relay =
            std::make_shared<MediaRelay>(std::move(*origin_pair), std::move(*client_pair), client_ip_,
                                         open.client_ports, alg_->stats(), alg_->options().session_timeout);
        alg_->track(relay, asio::query(executor_, asio::execution::context));
        relays_[open.id] = std::move(relay);
        machine_.relay_opened(open.id, origin_port, client_port);
    }

    void execute(const std::vector<AlgAction>& actions, Direction direction) {
        for (const AlgAction& action : actions) {
            if (const auto* start = std::get_if<StartRelay>(&action)) {
                start_relay(*start);
            } else if (const auto* stop = std::get_if<StopRelay>(&action)) {
                if (auto it = relays_.find(stop->id); it != relays_.end()) {
                    it->second->stop(stop->reason);
                    relays_.erase(it);
                }
            } else if (std::holds_alternative<TouchRelays>(action)) {
                for (auto& [id, relay] : relays_)
                    relay->touch();
            } else if (const auto* fallback = std::get_if<ParseFallback>(&action)) {
                spdlog::debug("rtsp alg {}: {} stream not parsable ({}): relaying it untouched",
                              client_label(), direction == Direction::client_to_origin ? "client" : "origin",
                              fallback->reason);
                alg_->stats()->parse_fallbacks.fetch_add(1, std::memory_order_relaxed);
            } else if (const auto* refused = std::get_if<SetupRefused>(&action)) {
                log_refusal(refused->cause);
            }
        }
    }

    // Peer-triggered: rate-limited across every session of the process.
    void log_refusal(RefusalCause cause) {
        const AlgOptions& options = alg_->options();
        if (cause == RefusalCause::too_many_relays) {
            static net::RateLimitedLog extra_setup_log("rtsp alg: SETUPs over max_relays_per_session");
            extra_setup_log.warn("rtsp alg {}: more than {} UDP SETUPs in one session: refused",
                                 client_label(), options.max_relays_per_session);
            return;
        }
        alg_->stats()->port_exhausted.fetch_add(1, std::memory_order_relaxed);
        static net::RateLimitedLog port_starved_log("rtsp alg: SETUPs without a free port pair");
        port_starved_log.warn("rtsp alg {}: no free UDP port pair in {}-{}: SETUP refused", client_label(),
                              options.port_first, options.port_last);
    }

    // The origin may send from another of its addresses (Transport source); only one of the origin-facing
    // family can reach the origin-facing ports.
    void start_relay(const StartRelay& start) {
        auto it = relays_.find(start.id);
        if (it == relays_.end()) return;
        asio::ip::address media_source = origin_ip_;
        if (start.origin.source) {
            asio::error_code ec;
            const auto named = asio::ip::make_address(*start.origin.source, ec);
            if (!ec && net::unmap(named).is_v4() == origin_ip_.is_v4()) media_source = net::unmap(named);
        }
        it->second->start(alg_->relay_loop(executor_), media_source, start.origin, start.session_id);
    }

    // Relays that stopped on their own (session timeout) no longer count toward the session's maximum.
    void forget_ended_relays() {
        for (auto it = relays_.begin(); it != relays_.end();) {
            if (it->second->stopped()) {
                machine_.relay_ended(it->first);
                it = relays_.erase(it);
            } else {
                ++it;
            }
        }
    }

    void stop_relays(std::string_view why) {
        std::vector<AlgAction> actions;
        machine_.stop_relays(why, actions);
        execute(actions, Direction::client_to_origin);
    }

    std::string client_label() const { return net::to_string(tcp::endpoint(client_ip_, 0)); }

    // Ends the connection after `idle_timeout` without control traffic or media.
    asio::awaitable<void> watchdog() {
        asio::steady_timer timer(executor_);
        for (;;) {
            auto latest = last_activity_;
            for (const auto& [id, relay] : relays_)
                latest = std::max(latest, relay->last_activity());
            const auto deadline = latest + idle_timeout_;
            if (Clock::now() >= deadline) {
                end("idle timeout");
                co_return;
            }
            // Wake at least every 30 s: media activity moves the deadline without waking the timer.
            timer.expires_at(std::min(deadline, Clock::now() + std::chrono::seconds{30}));
            auto [ec] = co_await timer.async_wait(net::k_use_tuple);
            if (ec) co_return;
        }
    }

    tcp::socket& client_;
    tcp::socket& origin_;
    std::shared_ptr<RtspAlg> alg_;
    Clock::duration idle_timeout_;
    asio::any_io_executor executor_;
    asio::steady_timer half_closed_;
    asio::ip::address client_ip_, client_local_, origin_ip_, origin_local_;
    AlgMachine machine_;
    std::map<RelayId, std::shared_ptr<MediaRelay>> relays_;  // opened, pending or running
    Clock::time_point last_activity_ = Clock::now();
    int eofs_ = 0;
    std::string_view end_;
    AlgResult result_;
};

}  // namespace

void RtspAlg::track(const std::shared_ptr<MediaRelay>& relay, const asio::execution_context& loop) {
    const std::lock_guard lock(relays_mutex_);
    // Another loop's relay may be read here only through its weak_ptr; its stopped() flag is its loop's.
    std::erase_if(relays_, [&loop](const Tracked& t) {
        const auto locked = t.relay.lock();
        return !locked || (t.loop == &loop && locked->stopped());
    });
    relays_.push_back({&loop, relay});
}

std::shared_ptr<RelayLoop> RtspAlg::relay_loop(const asio::any_io_executor& executor) {
    const auto* io_executor = executor.target<asio::io_context::executor_type>();
    if (io_executor == nullptr) return nullptr;
    asio::io_context& io = io_executor->context();
    const std::lock_guard lock(loops_mutex_);
    auto& slot = loops_[&io];
    if (auto loop = slot.lock()) return loop;
    auto loop = std::make_shared<RelayLoop>(io);
    loop->reactor.set_owner(loop);
    slot = loop;
    return loop;
}

std::vector<MediaRelaySnapshot> RtspAlg::relays(const asio::execution_context* loop) const {
    const auto now = MediaRelay::Clock::now();
    std::vector<MediaRelaySnapshot> out;
    const std::lock_guard lock(relays_mutex_);
    std::erase_if(relays_, [&](const Tracked& t) {
        if (loop != nullptr && t.loop != loop) return t.relay.expired();
        const auto locked = t.relay.lock();
        if (!locked || locked->stopped()) return true;
        out.push_back(locked->snapshot(now));
        return false;
    });
    return out;
}

RtspAlg::RtspAlg(AlgOptions options, metrics::Registry* registry)
    : options_(options),
      stats_(std::make_shared<AlgStats>()),
      ports_(options.port_first, options.port_last, stats_) {
    if (registry == nullptr) return;
    const auto stats = stats_;
    const auto counter = [&](std::string_view name, std::string_view help, auto member,
                             const metrics::Labels& labels = {}) {
        registry->counter_callback(
            name, help, [stats, member] { return static_cast<double>(((*stats).*member).load()); }, labels);
    };
    counter("streamgate_alg_sessions_total", "CONNECT sessions carrying RTSP, taken by the RTSP ALG",
            &AlgStats::sessions);
    counter("streamgate_alg_parse_fallbacks_total",
            "RTSP ALG stream directions that stopped parsing and were relayed untouched",
            &AlgStats::parse_fallbacks);
    counter("streamgate_alg_media_relays_total", "UDP media SETUPs relayed by the RTSP ALG",
            &AlgStats::media_relays);
    counter("streamgate_alg_port_exhausted_total", "UDP SETUPs refused (453) for want of a free port pair",
            &AlgStats::port_exhausted);
    counter("streamgate_alg_media_packets_total", "RTP/RTCP packets relayed by the RTSP ALG",
            &AlgStats::packets_to_client, {{"direction", "to_client"}});
    counter("streamgate_alg_media_packets_total", "RTP/RTCP packets relayed by the RTSP ALG",
            &AlgStats::packets_to_origin, {{"direction", "to_origin"}});
    counter("streamgate_alg_media_bytes_total", "RTP/RTCP payload bytes relayed by the RTSP ALG",
            &AlgStats::bytes_to_client, {{"direction", "to_client"}});
    counter("streamgate_alg_media_bytes_total", "RTP/RTCP payload bytes relayed by the RTSP ALG",
            &AlgStats::bytes_to_origin, {{"direction", "to_origin"}});
    counter("streamgate_alg_media_dropped_total",
            "RTP/RTCP packets dropped by the RTSP ALG (wrong source, too big, refused)",
            &AlgStats::packets_dropped);
    registry->gauge_callback("streamgate_alg_port_pairs_in_use",
                             "UDP port pairs held by RTSP ALG media relays (two per SETUP)",
                             [stats] { return static_cast<double>(stats->port_pairs_in_use.load()); });
}

asio::awaitable<SniffVerdict> sniff_client(tcp::socket& client, tcp::socket& origin,
                                           std::vector<std::uint8_t>& buffer, Clock::duration timeout) {
    using namespace asio::experimental::awaitable_operators;
    const auto executor = co_await asio::this_coro::executor;
    asio::steady_timer timer(executor, Clock::now() + timeout);
    std::array<std::uint8_t, 1024> chunk;
    for (;;) {
        const SniffVerdict verdict = sniff_rtsp_request(buffer);
        if (verdict != SniffVerdict::need_more) co_return verdict;
        auto woken = co_await (client.async_wait(tcp::socket::wait_read, net::k_use_tuple) ||
                               origin.async_wait(tcp::socket::wait_read, net::k_use_tuple) ||
                               timer.async_wait(net::k_use_tuple));
        if (woken.index() != 0) co_return SniffVerdict::other;  // the origin spoke first, or time is up
        auto [ec, n] = co_await client.async_read_some(asio::buffer(chunk), net::k_use_tuple);
        if (ec) co_return SniffVerdict::other;  // EOF or error: the plain relay will see it again
        buffer.insert(buffer.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
    }
}

asio::awaitable<AlgResult> run_rtsp_alg(tcp::socket& client, tcp::socket& origin,
                                        std::vector<std::uint8_t> client_bytes, std::shared_ptr<RtspAlg> alg,
                                        Clock::duration idle_timeout) {
    const auto executor = co_await asio::this_coro::executor;
    AlgSession session(client, origin, std::move(alg), idle_timeout, executor);
    auto result = co_await session.run(std::move(client_bytes));
    co_return result;
}

}  // namespace sg::alg
