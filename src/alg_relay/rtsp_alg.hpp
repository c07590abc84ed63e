#pragma once
// The RTSP application-level gateway in the SOCKS CONNECT path.
//
// A player behind a TCP-only socksifier (proxychains4, tsocks, Dante's socksify) or a native SOCKS client
// gets its RTSP control connection through the gateway, but RTP over UDP would go from the origin to ports
// at the gateway's address where nothing listens. When a CONNECT carries RTSP (rtsp_sniff.hpp), the gateway
// therefore parses the control stream both ways while relaying it and, for each SETUP asking for unicast UDP,
// opens an RTP/RTCP port pair facing the origin (origin's family) and one facing the client (client's
// family), rewrites the Transport headers (transport_rewrite.hpp) and relays the media (media_relay.hpp),
// across IPv4/IPv6 if need be. Everything else passes untouched: messages are forwarded as the exact bytes
// received, except SETUP requests and replies whose Transport is rewritten (those are re-serialized with
// CRLF line endings); interleaved "$" frames, SDP bodies and URLs are never changed, the client keeps
// talking to the origin's own URLs. Which messages are rewritten and which relays open and close is decided
// by the pure state machine alg/alg_machine.hpp; this session moves the bytes and runs the relays.
//
// Parse errors: a direction whose bytes stop being RTSP (parser error or limit) falls back to relaying its
// bytes untouched for the rest of the connection; media relays already set up keep running. Ports are
// freed at a successful TEARDOWN reply (the relays of that Session), at the end of the control connection,
// and after `session_timeout` without media nor control traffic.

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "alg/rtsp_sniff.hpp"
#include "alg_relay/alg_stats.hpp"
#include "alg_relay/media_relay.hpp"
#include "alg_relay/port_pool.hpp"
#include "rtsp/message.hpp"

namespace sg::metrics {
class Registry;
}

namespace sg::alg {

struct AlgOptions {
    std::uint16_t port_first = 30000;  // UDP ports of the media relays, both families
    std::uint16_t port_last = 39999;
    // Media relays without a packet either way nor control traffic for this long are freed (a player that
    // vanished without TEARDOWN).
    std::chrono::steady_clock::duration session_timeout = std::chrono::seconds{120};
    // How long a relayed connection may stay silent before the gateway stops waiting for an RTSP request
    // line and relays it plainly (a connection whose server speaks first is let go as soon as it does).
    std::chrono::steady_clock::duration sniff_timeout = std::chrono::seconds{2};
    std::size_t max_relays_per_session = 16;  // UDP SETUPs beyond it are refused (453)
    rtsp::Limits limits;
};

// The gateway-wide part: options, the port pool and the counters (exported when given a registry).
// Threading: shared by the sessions of every event loop; the port pool and the list of relays are guarded by
// mutexes (taken per SETUP and per listing, never per packet), the counters are atomics.
class RtspAlg {
public:
    RtspAlg(AlgOptions options, metrics::Registry* registry);

    const AlgOptions& options() const noexcept { return options_; }
    PortPool& ports() noexcept { return ports_; }
    const std::shared_ptr<AlgStats>& stats() const noexcept { return stats_; }

    // Every media relay an ALG session opens is listed here while it runs, for the admin API; `loop` is the
    // event loop the relay runs on. Call it on that loop.
    void track(const std::shared_ptr<MediaRelay>& relay, const asio::execution_context& loop);
    // The epoll set and batch buffers shared by the media relays of the event loop `executor` belongs to
    // (made on first use, gone with the loop's last relay); null when that is not an io_context.
    std::shared_ptr<RelayLoop> relay_loop(const asio::any_io_executor& executor);
    // The running relays of `loop`, oldest first; call it on that loop's thread (a relay's state is read
    // without a lock). Null: every loop's, for a single-threaded caller.
    std::vector<MediaRelaySnapshot> relays(const asio::execution_context* loop = nullptr) const;

private:
    struct Tracked {
        const asio::execution_context* loop;
        std::weak_ptr<MediaRelay> relay;
    };
    AlgOptions options_;
    mutable std::mutex relays_mutex_;
    mutable std::vector<Tracked> relays_;  // pruned as relays end
    std::mutex loops_mutex_;
    std::map<const asio::execution_context*, std::weak_ptr<RelayLoop>> loops_;
    std::shared_ptr<AlgStats> stats_;
    PortPool ports_;
};

// Waits for the client's first bytes (appended to `buffer`, which may already hold some) until they show
// whether the connection is RTSP. Answers `other` as soon as the origin has bytes to send (a protocol whose
// server speaks first), when the client closes, or after `timeout`.
asio::awaitable<SniffVerdict> sniff_client(asio::ip::tcp::socket& client, asio::ip::tcp::socket& origin,
                                           std::vector<std::uint8_t>& buffer,
                                           std::chrono::steady_clock::duration timeout);

struct AlgResult {
    std::uint64_t bytes_client_to_origin = 0;  // control bytes as received
    std::uint64_t bytes_origin_to_client = 0;
    std::uint64_t media_relays = 0;  // SETUPs relayed over UDP
    std::uint64_t refused_setups =
        0;                   // UDP SETUPs answered 453: no free port pair, or too many in the session
    bool fell_back = false;  // a direction stopped parsing
    std::string end_reason;  // "closed", "reset", "idle timeout"
};

// Runs the gateway on a connected pair until the control connection ends; `client_bytes` are bytes already
// read from the client. `idle_timeout`: the connection ends after that long without control traffic or
// media. Both sockets must outlive the call.
asio::awaitable<AlgResult> run_rtsp_alg(asio::ip::tcp::socket& client, asio::ip::tcp::socket& origin,
                                        std::vector<std::uint8_t> client_bytes, std::shared_ptr<RtspAlg> alg,
                                        std::chrono::steady_clock::duration idle_timeout);

}  // namespace sg::alg
