#pragma once
// One RTSP control connection of `streamgate serve`: reads requests (and interleaved RTCP), answers them in
// order, owns the sessions it created and carries their interleaved media. Its coroutines run on one of the
// server's event loops, the one that accepted it, and so do its sessions: a reader, a writer draining a
// bounded queue (a slow TCP viewer loses media packets instead of stalling anyone else) and a once-a-second
// check of session timeouts. DESCRIBE and SETUP wait for the presentation cache and the demuxer's open on
// the blocking pool; the reader handles nothing else meanwhile, so answers stay in request order.

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/thread_pool.hpp>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/units.hpp"
#include "rtsp/message.hpp"
#include "rtsp_server/connection_registry.hpp"
#include "rtsp_server/rtsp_server_connection.hpp"
#include "server/media_path.hpp"
#include "server/multicast_group.hpp"
#include "server/presentation_cache.hpp"
#include "server/serve_config.hpp"
#include "server/session.hpp"
#include "server/udp_ports.hpp"

namespace sg::server {

// Shared by every event loop. Its counters change per request or session end, never per packet, so
// atomics cost nothing that matters; the metrics scrape reads them from another loop.
struct ServerContext {
    ServeConfig config;
    UdpPortAllocator ports;
    PresentationCache presentations;
    MulticastRegistry multicast;            // groups of the multicast players (closed: no range configured)
    asio::thread_pool* blocking = nullptr;  // opens and probes files off the event loops
    // Totals for the log and Prometheus.
    std::atomic<std::uint64_t> sessions_started{0};
    std::atomic<std::uint64_t> sessions_ended{0};
    std::atomic<std::uint64_t> sessions_timed_out{0};
    std::atomic<std::uint64_t> rtp_packets{0};
    std::atomic<std::uint64_t> rtp_bytes{0};
    std::atomic<std::uint64_t> dropped{0};
    std::atomic<std::uint64_t> connections_open{0};
    std::atomic<std::uint64_t> bad_requests{0};  // answered 400 or closed as malformed
    // Every connection, for closing them all (and so logging their sessions' ends) when serve stops.
    ConnectionRegistry<RtspServerConnection> connections{};
};

class RtspConnection : public RtspServerConnection, public InterleavedSink {
public:
    RtspConnection(asio::ip::tcp::socket socket, ServerContext& context);

    bool send_interleaved(std::uint8_t channel, Bytes frame) override;

    // Limits of what one connection may hold back.
    static constexpr std::size_t k_max_queued_bytes = 4 * k_mib;
    static constexpr std::size_t k_max_sessions = 16;

private:
    asio::awaitable<rtsp::Response> handle(const rtsp::Request& request) override;
    std::size_t expire_sessions(Clock::time_point now, Clock::duration timeout) override;
    void on_interleaved(const rtsp::InterleavedFrame& frame) override;
    void on_bad_message() override { ++context_.bad_requests; }
    void on_reply(const rtsp::Response& response) override {
        if (response.status == 400) ++context_.bad_requests;
    }
    void on_close(std::string_view reason) override;

    void end_session(Session& session, std::string_view reason);
    asio::awaitable<rtsp::Response> handle_describe(const rtsp::Request& request);
    asio::awaitable<rtsp::Response> handle_setup(const rtsp::Request& request);
    rtsp::Response handle_play(const rtsp::Request& request, Session& session);
    // A new session of `target`'s file (its own demuxer); nullptr and `status` when it cannot be opened.
    asio::awaitable<std::shared_ptr<Session>> open_session(const MediaTarget& target,
                                                           const std::string& peer_name, int& status);
    asio::awaitable<rtsp::Response> set_up_multicast(const MediaTarget& target,
                                                     std::shared_ptr<Session> session, std::size_t track);
    asio::awaitable<rtsp::Response> handle_multicast_play(const rtsp::Request& request,
                                                          std::shared_ptr<Session> session);
    void leave_group(const std::string& session_id);
    rtsp::Response with_session_header(rtsp::Response response, const Session& session) const;
    rtsp::Response handle_session_request(const rtsp::Request& request);
    std::shared_ptr<Session> find_session(const rtsp::Request& request, int& status);

    ServerContext& context_;
    std::map<std::string, std::shared_ptr<Session>> sessions_;
    // Sessions delivered by multicast: their group (the registry owns it: a group's sockets belong to
    // another event loop, which may be destroyed first at shutdown) and whether they are playing.
    struct Membership {
        std::weak_ptr<MulticastGroup> group;
        bool playing = false;
    };
    std::map<std::string, Membership> memberships_;
};

}  // namespace sg::server
