#pragma once
// serve's engine behind one RTSP control connection: DESCRIBE of a media file, SETUP of its tracks over UDP,
// interleaved TCP or a multicast group, PLAY with Range, Scale and Speed, PAUSE, TEARDOWN and the
// GET/SET_PARAMETER keep-alive, and the sessions these create (session.hpp). `streamgate serve`'s
// connections hand every request to it; the gateway's proxy listener hands it the requests for its cached
// VOD mounts (proxy/vod_cache.hpp). Where a path leads is the owner's: `Resolve` maps a Request-URI path
// onto a file and a track.

#include <asio/awaitable.hpp>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "rtsp/message.hpp"
#include "rtsp_server/connection_registry.hpp"
#include "rtsp_server/rtsp_server_connection.hpp"
#include "server/media_path.hpp"
#include "server/multicast_group.hpp"
#include "server/presentation_cache.hpp"
#include "server/serve_config.hpp"
#include "server/session.hpp"
#include "server/udp_ports.hpp"

namespace asio {
class thread_pool;
}

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

class FileSessions {
public:
    using Resolve = std::function<Result<MediaTarget>(std::string_view url_path)>;

    // `connection` must also be an InterleavedSink (interleaved media goes through it) and outlive this.
    FileSessions(ServerContext& context, RtspServerConnection& connection, Resolve resolve)
        : context_(context), connection_(connection), resolve_(std::move(resolve)) {}
    FileSessions(const FileSessions&) = delete;
    FileSessions& operator=(const FileSessions&) = delete;

    // The answer to `request` (check_request already passed).
    asio::awaitable<rtsp::Response> handle(const rtsp::Request& request);
    // Whether the request's Session header names one of these sessions.
    bool owns_session(const rtsp::Request& request) const;
    bool empty() const noexcept { return sessions_.empty(); }

    // Ends the sessions silent for longer than `timeout`; returns how many remain.
    std::size_t expire(RtspServerConnection::Clock::time_point now,
                       RtspServerConnection::Clock::duration timeout);
    // Interleaved RTCP receiver reports from a TCP viewer keep its sessions alive.
    void touch_all();
    // The connection closes: every session ends with `reason`.
    void end_all(std::string_view reason);
    // Ends the session `id` with `reason` (an RTCP BYE first); false when there is none.
    bool end(const std::string& id, std::string_view reason);
    // Calls `visit` with each session (the admin API's listing).
    template <class Visit>
    void for_each(Visit&& visit) const {
        for (const auto& [id, session] : sessions_)
            visit(static_cast<const Session&>(*session));
    }

    static constexpr std::size_t k_max_sessions = 16;

private:
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
    RtspServerConnection& connection_;
    Resolve resolve_;
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
