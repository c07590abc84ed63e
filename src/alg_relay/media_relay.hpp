#pragma once
// The UDP media of one RTSP SETUP relayed by the application-level gateway: RTP and RTCP, both ways, across
// address families, between two port pairs of the gateway (port_pool.hpp):
//
//   client  <->  client-facing pair (client's family)  |  origin-facing pair (origin's family)  <->  origin
//
// Origin -> client: taken only from the origin's IP; sent to the client's real IP (the control connection's
// peer) at the ports it announced in SETUP, unless latched: the client's first packet on a channel (players
// send NAT punch packets and RTCP receiver reports) fixes the endpoint used from then on (symmetric latching,
// so a client behind NAT gets its media). Client -> origin: taken only from the client's IP; sent to the
// origin's IP at the server_port of its SETUP reply (or, when it gave none, where its packets come from).
// The relay ends when stop() is called (TEARDOWN, end of the control connection) or after
// `session_timeout` without a packet either way nor a touch() from the control connection; its ports are
// closed at once and one log line reports it.
//
// I/O: the four sockets of every relay on an event loop sit in that loop's one edge-triggered epoll set
// (RelayLoop, net::EdgeReactor): a wakeup serves every ready socket with a recvmmsg and a sendmmsg each, and
// no socket is re-armed per packet. What the client's socket has no room for is dropped and counted, as a
// router drops: one slow player never holds up the loop.

#include <array>
#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/address.hpp>
#include <asio/ip/udp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "alg/transport_rewrite.hpp"
#include "alg_relay/alg_stats.hpp"
#include "alg_relay/port_pool.hpp"
#include "net/edge_reactor.hpp"
#include "net/udp_batch.hpp"
#include "rtsp/transport.hpp"

namespace sg::alg {

struct MediaRelayCounters {
    std::array<std::uint64_t, 2> packets_to_client{};  // [0] RTP, [1] RTCP
    std::array<std::uint64_t, 2> packets_to_origin{};
    std::uint64_t bytes_to_client = 0;
    std::uint64_t bytes_to_origin = 0;
    std::uint64_t dropped = 0;
};

// What the admin API shows of a running media relay.
struct MediaRelaySnapshot {
    std::string session_id;  // the RTSP Session; "" before the SETUP reply named one
    std::string client;      // where media to the client goes (latched, or the announced RTP port)
    std::string origin;      // the origin's RTP endpoint
    std::uint16_t client_facing_port = 0;
    std::uint16_t origin_facing_port = 0;
    MediaRelayCounters counters;
    std::chrono::steady_clock::duration age{};
    std::chrono::steady_clock::duration idle{};  // since the last packet or control activity
};

// What the media relays of one event loop share: the epoll set their sockets sit in and the batch buffers,
// used by one relay at a time on the loop's thread. Owned by the relays that use it (RtspAlg::relay_loop).
struct RelayLoop {
    explicit RelayLoop(asio::io_context& io);

    asio::io_context& io;
    net::EdgeReactor reactor;
    net::UdpReceiveBatch in;
    net::UdpSendBatch out;
};

class MediaRelay : public std::enable_shared_from_this<MediaRelay> {
public:
    using Clock = std::chrono::steady_clock;

    MediaRelay(PortPair origin_facing, PortPair client_facing, const asio::ip::address& client_ip,
               rtsp::PortRange client_ports, std::shared_ptr<AlgStats> stats,
               Clock::duration session_timeout);

    std::uint16_t origin_facing_port() const noexcept { return origin_facing_.rtp_port(); }
    std::uint16_t client_facing_port() const noexcept { return client_facing_.rtp_port(); }

    // Starts relaying toward `origin_ip` (its server ports from `origin`); runs on `loop` (the event loop the
    // relay's sockets were opened on) until stopped.
    void start(std::shared_ptr<RelayLoop> loop, const asio::ip::address& origin_ip, const OriginMedia& origin,
               std::string session_id);
    // Ends the relay (idempotent) and frees its ports; `why` (static text) goes into the log line.
    void stop(std::string_view why);
    // Control-connection activity (RTSP keep-alives) keeps a paused stream's ports.
    void touch() noexcept { last_activity_ = Clock::now(); }

    bool stopped() const noexcept { return stopped_; }
    const std::string& session_id() const noexcept { return session_id_; }
    Clock::time_point last_activity() const noexcept { return last_activity_; }
    const MediaRelayCounters& counters() const noexcept { return counters_; }
    MediaRelaySnapshot snapshot(Clock::time_point now) const;

private:
    // One of the four receiving sockets: origin-facing ones carry media to the client, client-facing ones
    // to the origin; channel 0 is RTP, 1 RTCP.
    struct Inbound final : net::EdgeReactor::Reader {
        MediaRelay* relay = nullptr;
        int fd = -1;
        int channel = 0;
        bool to_client = true;
        bool watched = false;
        bool on_readable() override { return relay->receive(*this); }
    };

    asio::awaitable<void> run();
    bool watch();
    void unwatch() noexcept;
    bool receive(Inbound& in);
    void forward_to_client(int channel);
    void forward_to_origin(int channel);
    void sent(const net::UdpSendResult& result, bool to_client, int channel);
    asio::awaitable<void> watchdog();
    void end(std::string_view why);
    void drop(std::size_t datagrams = 1);
    void log_end() const;

    PortPair origin_facing_;
    PortPair client_facing_;
    asio::ip::address client_ip_;
    rtsp::PortRange client_ports_;
    std::shared_ptr<AlgStats> stats_;
    Clock::duration session_timeout_;
    asio::ip::address origin_ip_;
    std::array<std::optional<asio::ip::udp::endpoint>, 2> origin_endpoint_;  // where client packets go
    std::array<std::optional<asio::ip::udp::endpoint>, 2> client_latched_;   // the client's own sources
    std::string session_id_;
    std::string origin_label_;  // for the log line
    std::shared_ptr<RelayLoop> loop_;
    std::array<Inbound, 4> inbound_{};  // to the client RTP, RTCP; to the origin RTP, RTCP
    std::optional<asio::steady_timer> stop_signal_;
    MediaRelayCounters counters_;
    Clock::time_point started_ = Clock::now();
    Clock::time_point last_activity_ = Clock::now();
    std::string_view end_reason_;
    bool running_ = false;
    bool stopped_ = false;
};

}  // namespace sg::alg
