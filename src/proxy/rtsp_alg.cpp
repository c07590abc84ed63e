#include "proxy/rtsp_alg.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <list>
#include <map>
#include <optional>
#include <string_view>
#include <utility>

#include "common/text.hpp"
#include "metrics/registry.hpp"
#include "net/asio_endpoint.hpp"
#include "net/rate_limited_log.hpp"
#include "proxy/media_relay.hpp"
#include "proxy/sdp_family_rewrite.hpp"
#include "proxy/transport_rewrite.hpp"
#include "rtsp/session_header.hpp"

namespace sg::proxy {
namespace {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto k_use = asio::experimental::as_tuple(asio::use_awaitable);
constexpr std::size_t k_read_chunk = 16384;
constexpr std::size_t k_max_pending_teardowns = 16;
constexpr std::size_t k_max_pending_refusals = 16;

enum class Side : std::uint8_t { client, origin };

void append(std::vector<std::uint8_t>& out, Bytes bytes) {
    out.insert(out.end(), bytes.begin(), bytes.end());
}

void append(std::vector<std::uint8_t>& out, std::string_view text) {
    out.insert(out.end(), text.begin(), text.end());
}

std::string cseq_of(const rtsp::Headers& headers) {
    const std::string* value = headers.get("CSeq");
    return value == nullptr ? std::string() : std::string(trim(*value));
}

std::string session_id_of(const rtsp::Headers& headers) {
    const std::string* value = headers.get("Session");
    if (value == nullptr) return {};
    auto parsed = rtsp::parse_session(*value);
    return parsed ? parsed->id : std::string();
}

// IPv6 literals go into Transport without brackets (the formatter adds what the syntax needs).
std::string host_of(const asio::ip::address& address) {
    return net::unmap(address).to_string();
}

class AlgSession {
public:
    AlgSession(tcp::socket& client, tcp::socket& origin, std::shared_ptr<RtspAlg> alg,
               Clock::duration idle_timeout, asio::any_io_executor executor)
        : client_(client),
          origin_(origin),
          alg_(std::move(alg)),
          idle_timeout_(idle_timeout),
          executor_(std::move(executor)),
          half_closed_(executor_, Clock::time_point::max()) {
        asio::error_code ec;
        client_ip_ = net::unmap(client_.remote_endpoint(ec).address());
        client_local_ = net::unmap(client_.local_endpoint(ec).address());
        origin_ip_ = net::unmap(origin_.remote_endpoint(ec).address());
        origin_local_ = net::unmap(origin_.local_endpoint(ec).address());
    }

    asio::awaitable<AlgResult> run(std::vector<std::uint8_t> client_bytes) {
        using namespace asio::experimental::awaitable_operators;
        alg_->stats()->sessions.fetch_add(1, std::memory_order_relaxed);
        std::vector<std::uint8_t> origin_bytes;  // named: no temporaries across a co_await (g++ 12)
        co_await (pump(Side::client, std::move(client_bytes)) ||
                  pump(Side::origin, std::move(origin_bytes)) || watchdog());
        stop_relays(end_.empty() ? "control connection closed" : end_);
        result_.end_reason = end_.empty() ? "closed" : std::string(end_);
        co_return result_;
    }

private:
    struct PendingSetup {
        std::shared_ptr<MediaRelay> relay;
        rtsp::PortRange client_ports;
    };

    void end(std::string_view why) {
        if (end_.empty()) end_ = why;
    }

    // One direction: parse what `from` sends, forward it to the other side. Returns when the whole
    // connection is over (an error on either side, or EOF from both).
    asio::awaitable<void> pump(Side side, std::vector<std::uint8_t> buffer) {
        tcp::socket& from = side == Side::client ? client_ : origin_;
        tcp::socket& to = side == Side::client ? origin_ : client_;
        std::uint64_t& counted =
            side == Side::client ? result_.bytes_client_to_origin : result_.bytes_origin_to_client;
        counted += buffer.size();
        std::vector<std::uint8_t> chunk(k_read_chunk);
        std::vector<std::uint8_t> out;
        bool parsing = true;
        for (;;) {
            out.clear();
            if (parsing) {
                parsing = process(side, buffer, out);
            } else {
                out.swap(buffer);
                buffer.clear();
            }
            if (!out.empty()) {
                auto [ec, n] = co_await asio::async_write(to, asio::buffer(out), k_use);
                if (ec) {
                    end("reset");
                    co_return;
                }
            }
            auto [ec, n] = co_await from.async_read_some(asio::buffer(chunk), k_use);
            if (ec == asio::error::eof) {
                // Pass the half-close on; the connection ends when the other side closes too.
                asio::error_code ignored;
                to.shutdown(tcp::socket::shutdown_send, ignored);
                // A player that closes its control connection has left (it cannot TEARDOWN any more), and an
                // origin that closes it has stopped serving: the media ports go now, not at the timeout.
                stop_relays(side == Side::client ? "client closed" : "origin closed");
                if (++eofs_ == 2) co_return;
                co_await half_closed_.async_wait(k_use);  // until the other direction ends it all
                co_return;
            }
            if (ec) {
                end("reset");
                co_return;
            }
            counted += n;
            last_activity_ = Clock::now();
            buffer.insert(buffer.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
        }
    }

    // Moves every complete item of `buffer` to `out` (rewritten where needed); returns false when the stream
    // stopped parsing (what is left was moved to `out` as it is).
    bool process(Side side, std::vector<std::uint8_t>& buffer, std::vector<std::uint8_t>& out) {
        std::size_t offset = 0;
        bool ok = true;
        while (offset < buffer.size()) {
            const Bytes rest = Bytes(buffer).subspan(offset);
            auto parsed = rtsp::parse_item(rest, alg_->options().limits);
            if (parsed.need_more()) break;
            if (parsed.failed()) {
                spdlog::debug("rtsp alg {}: {} stream not parsable ({}): relaying it untouched",
                              net::to_string(tcp::endpoint(client_ip_, 0)),
                              side == Side::client ? "client" : "origin", parsed.error);
                alg_->stats()->parse_fallbacks.fetch_add(1, std::memory_order_relaxed);
                result_.fell_back = true;
                append(out, rest);
                offset = buffer.size();
                ok = false;
                break;
            }
            const Bytes raw = rest.first(parsed.consumed);
            if (auto* request = std::get_if<rtsp::Request>(&parsed.value); request && side == Side::client) {
                on_request(*request, raw, out);
            } else if (auto* response = std::get_if<rtsp::Response>(&parsed.value);
                       response && side == Side::origin) {
                on_response(*response, raw, out);
            } else {
                append(out, raw);  // interleaved frames, and requests/replies of the server-to-client kind
            }
            offset += parsed.consumed;
        }
        buffer.erase(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(offset));
        return ok;
    }

    void stop_relays(std::string_view why) {
        for (auto& [cseq, pending] : pending_setups_)
            pending.relay->stop(why);
        pending_setups_.clear();
        for (auto& relay : relays_)
            relay->stop(why);
    }

    void touch_relays() {
        for (auto& relay : relays_)
            relay->touch();
    }

    std::size_t live_relays() {
        relays_.remove_if([](const auto& relay) { return relay->stopped(); });
        return relays_.size() + pending_setups_.size();
    }

    void on_request(rtsp::Request& request, Bytes raw, std::vector<std::uint8_t>& out) {
        touch_relays();
        if (request.method == "SETUP") {
            const SetupVerdict verdict = rewrite_setup(request);
            if (verdict == SetupVerdict::refused) stand_in_for_refused(request);
            if (verdict != SetupVerdict::untouched) {
                append(out, rtsp::to_string(request));
                return;
            }
        }
        if (request.method == "TEARDOWN") {
            const std::string cseq = cseq_of(request.headers);
            if (!cseq.empty() && teardowns_.size() < k_max_pending_teardowns)
                teardowns_[cseq] = session_id_of(request.headers);
        }
        append(out, raw);
    }

    enum class SetupVerdict : std::uint8_t { untouched, rewritten, refused };

    // A SETUP for unicast UDP: open the two port pairs and point the origin at the gateway's. Refused when
    // the gateway cannot relay it: forwarded untouched, the origin would send media to the gateway's address
    // where nothing listens, and the player would wait for it in vain.
    SetupVerdict rewrite_setup(rtsp::Request& request) {
        const std::string* transport = request.headers.get("Transport");
        const std::string cseq = cseq_of(request.headers);
        if (transport == nullptr || cseq.empty()) return SetupVerdict::untouched;
        const auto client_ports = relayable_client_ports(*transport);
        if (!client_ports || pending_setups_.contains(cseq) || refused_.contains(cseq))
            return SetupVerdict::untouched;
        const AlgOptions& options = alg_->options();
        const std::string client = net::to_string(tcp::endpoint(client_ip_, 0));
        if (live_relays() >= options.max_relays_per_session) {
            // Peer-triggered, like the line below: rate-limited across every session of the process.
            static net::RateLimitedLog extra_setup_log("rtsp alg: SETUPs over max_relays_per_session");
            extra_setup_log.warn("rtsp alg {}: more than {} UDP SETUPs in one session: refused", client,
                                 options.max_relays_per_session);
            return refuse(cseq, 453);
        }
        auto origin_pair = alg_->ports().open_pair(executor_, origin_local_);
        auto client_pair = origin_pair ? alg_->ports().open_pair(executor_, client_local_) : std::nullopt;
        if (!origin_pair || !client_pair) {
            alg_->stats()->port_exhausted.fetch_add(1, std::memory_order_relaxed);
            static net::RateLimitedLog port_starved_log("rtsp alg: SETUPs without a free port pair");
            port_starved_log.warn("rtsp alg {}: no free UDP port pair in {}-{}: SETUP refused", client,
                                  options.port_first, options.port_last);
            return refuse(cseq, 453);
        }
        const auto rewritten =
            rewrite_setup_request(*transport, origin_pair->rtp_port(), host_of(origin_local_));
        if (!rewritten) return SetupVerdict::untouched;
        request.headers.set("Transport", *rewritten);
        auto relay =
            std::make_shared<MediaRelay>(std::move(*origin_pair), std::move(*client_pair), client_ip_,
                                         *client_ports, alg_->stats(), options.session_timeout);
        pending_setups_[cseq] = PendingSetup{std::move(relay), *client_ports};
        return SetupVerdict::rewritten;
    }

    SetupVerdict refuse(const std::string& cseq, int status) {
        if (refused_.size() >= k_max_pending_refusals) return SetupVerdict::untouched;
        refused_[cseq] = status;
        return SetupVerdict::refused;
    }

    // Only the client direction may write to the client, so a refused SETUP is not answered here: the origin
    // gets an OPTIONS with the same CSeq in its place, and its reply is turned into the refusal. That keeps
    // the replies in the order the player pipelined its requests, and the origin creates no session.
    static void stand_in_for_refused(rtsp::Request& request) {
        rtsp::Headers headers;
        for (const std::string_view name : {"CSeq", "Session", "User-Agent", "Authorization"}) {
            if (const std::string* value = request.headers.get(name)) headers.add(name, *value);
        }
        request.method = "OPTIONS";
        request.headers = std::move(headers);
        request.body.clear();
    }

    rtsp::Response refusal(int status, const std::string& cseq) {
        rtsp::Response response;
        response.status = status;
        response.reason = std::string(rtsp::reason_phrase(status));
        response.headers.add("CSeq", cseq);
        ++result_.refused_setups;
        return response;
    }

    void on_response(rtsp::Response& response, Bytes raw, std::vector<std::uint8_t>& out) {
        touch_relays();
        const std::string cseq = cseq_of(response.headers);
        const bool success = response.status >= 200 && response.status < 300;
        if (auto refused = refused_.find(cseq); refused != refused_.end()) {
            const int status = refused->second;
            refused_.erase(refused);
            append(out, rtsp::to_string(refusal(status, cseq)));
            return;
        }
        if (auto it = pending_setups_.find(cseq); it != pending_setups_.end()) {
            PendingSetup pending = std::move(it->second);
            pending_setups_.erase(it);
            if (success && finish_setup(response, pending)) {
                append(out, rtsp::to_string(response));
                return;
            }
            pending.relay->stop("setup refused");
        } else if (auto teardown = teardowns_.find(cseq); teardown != teardowns_.end()) {
            const std::string session = std::move(teardown->second);
            teardowns_.erase(teardown);
            if (success) {
                for (auto& relay : relays_) {
                    if (session.empty() || relay->session_id() == session) relay->stop("teardown");
                }
            }
        } else if (rewrite_description(response)) {
            append(out, rtsp::to_string(response));
            return;
        }
        append(out, raw);
    }

    // Across families, a DESCRIBE reply's c= lines name an address of the origin's family; players that take
    // their RTP sockets' family from c= need the gateway's client-facing address there (sdp_family_rewrite).
    bool rewrite_description(rtsp::Response& response) {
        if (response.body.empty() || client_local_.is_v4() == origin_ip_.is_v4()) return false;
        const std::string* type = response.headers.get("Content-Type");
        if (type == nullptr || !iequals(trim(type->substr(0, type->find(';'))), "application/sdp"))
            return false;
        auto rewritten = rewrite_sdp_family(response.body, host_of(client_local_), client_local_.is_v6());
        if (!rewritten) return false;
        response.body = std::move(*rewritten);
        return true;
    }

    bool finish_setup(rtsp::Response& response, PendingSetup& pending) {
        const std::string* transport = response.headers.get("Transport");
        if (transport == nullptr) return false;
        auto& relay = *pending.relay;
        auto rewritten = rewrite_setup_reply(*transport, pending.client_ports, relay.client_facing_port(),
                                             host_of(client_local_), host_of(client_ip_));
        if (!rewritten) return false;
        // The origin may send from another of its addresses (Transport source); only one of the
        // origin-facing family can reach the origin-facing ports.
        asio::ip::address media_source = origin_ip_;
        if (rewritten->origin.source) {
            asio::error_code ec;
            const auto named = asio::ip::make_address(*rewritten->origin.source, ec);
            if (!ec && net::unmap(named).is_v4() == origin_ip_.is_v4()) media_source = net::unmap(named);
        }
        response.headers.set("Transport", rewritten->transport);
        relay.start(executor_, media_source, rewritten->origin, session_id_of(response.headers));
        relays_.push_back(std::move(pending.relay));
        ++result_.media_relays;
        return true;
    }

    // Ends the connection after `idle_timeout` without control traffic or media.
    asio::awaitable<void> watchdog() {
        asio::steady_timer timer(executor_);
        for (;;) {
            auto latest = last_activity_;
            for (const auto& relay : relays_)
                latest = std::max(latest, relay->last_activity());
            const auto deadline = latest + idle_timeout_;
            if (Clock::now() >= deadline) {
                end("idle timeout");
                co_return;
            }
            // Wake at least every 30 s: media activity moves the deadline without waking the timer.
            timer.expires_at(std::min(deadline, Clock::now() + std::chrono::seconds{30}));
            auto [ec] = co_await timer.async_wait(k_use);
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
    std::map<std::string, PendingSetup> pending_setups_;  // by CSeq
    std::map<std::string, std::string> teardowns_;        // CSeq -> Session id ("" when none)
    std::map<std::string, int> refused_;                  // CSeq of a refused SETUP -> status to answer
    std::list<std::shared_ptr<MediaRelay>> relays_;
    Clock::time_point last_activity_ = Clock::now();
    int eofs_ = 0;
    std::string_view end_;
    AlgResult result_;
};

}  // namespace

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
        auto woken = co_await (client.async_wait(tcp::socket::wait_read, k_use) ||
                               origin.async_wait(tcp::socket::wait_read, k_use) || timer.async_wait(k_use));
        if (woken.index() != 0) co_return SniffVerdict::other;  // the origin spoke first, or time is up
        auto [ec, n] = co_await client.async_read_some(asio::buffer(chunk), k_use);
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

}  // namespace sg::proxy
