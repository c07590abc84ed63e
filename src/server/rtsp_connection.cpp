#include "server/rtsp_connection.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cstdio>

#include "net/asio_endpoint.hpp"
#include "rtsp/range.hpp"
#include "rtsp/rtp_info.hpp"
#include "rtsp/session_header.hpp"
#include "rtsp/simple_headers.hpp"
#include "rtsp/transport.hpp"
#include "rtsp_server/request_helpers.hpp"
#include "server/blocking.hpp"
#include "server/media_path.hpp"

namespace sg::server {
namespace {

constexpr std::string_view k_public =
    "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER";

std::string format_npt(double seconds) {
    std::array<char, 32> text{};
    std::snprintf(text.data(), text.size(), "%.3f", seconds);  // NOLINT(cppcoreguidelines-pro-type-vararg)
    return text.data();
}

// Results of the blocking pool's work (co_spawn wants default-constructible results).
struct LookedUp {
    std::shared_ptr<const Presentation> presentation;
    std::string error;
};
struct Opened {
    std::unique_ptr<MediaFile> file;
    std::string error;
};

}  // namespace

RtspConnection::RtspConnection(asio::ip::tcp::socket socket, ServerContext& context)
    : RtspServerConnection(std::move(socket), k_max_queued_bytes, context.config.session_timeout),
      context_(context) {
    ++context_.connections_open;
}

void RtspConnection::on_close(std::string_view reason) {
    --context_.connections_open;
    for (auto& [id, session] : sessions_)
        end_session(*session, reason);
    sessions_.clear();
}

void RtspConnection::end_session(Session& session, std::string_view reason) {
    session.stop(reason);
    ++context_.sessions_ended;
    if (reason == "timeout") ++context_.sessions_timed_out;
    context_.rtp_packets += session.stats().packets;
    context_.rtp_bytes += session.stats().octets;
    context_.dropped += session.stats().dropped;
}

bool RtspConnection::send_interleaved(std::uint8_t channel, Bytes frame) {
    return queue_interleaved(channel, frame);
}

std::size_t RtspConnection::expire_sessions(Clock::time_point now, Clock::duration timeout) {
    return expire_idle_sessions(sessions_, now, timeout, [this](Session& session) {
        end_session(session, "timeout");
        note_activity();
    });
}

void RtspConnection::on_interleaved(const rtsp::InterleavedFrame& /*frame*/) {
    // Interleaved RTCP receiver reports from a TCP viewer keep its sessions alive.
    for (auto& [id, session] : sessions_)
        session->touch();
}

std::shared_ptr<Session> RtspConnection::find_session(const rtsp::Request& request, int& status) {
    return find_named_session(sessions_, request, status);
}

asio::awaitable<rtsp::Response> RtspConnection::handle(const rtsp::Request& request) {
    if (auto refused = check_request(request)) co_return std::move(*refused);
    const std::string& method = request.method;
    if (method == "OPTIONS") {
        auto response = status_reply(200);
        response.headers.set("Public", k_public);
        if (request.headers.contains("Session")) {
            int status = 200;
            if (!find_session(request, status)) co_return status_reply(status);
        }
        co_return response;
    }
    if (method == "DESCRIBE") {
        auto response = co_await handle_describe(request);
        co_return response;
    }
    if (method == "SETUP") {
        auto response = co_await handle_setup(request);
        co_return response;
    }
    if (method == "PLAY" || method == "PAUSE" || method == "TEARDOWN" || method == "GET_PARAMETER" ||
        method == "SET_PARAMETER")
        co_return handle_session_request(request);
    auto response = status_reply(501);
    response.headers.set("Public", k_public);
    co_return response;
}

asio::awaitable<rtsp::Response> RtspConnection::handle_describe(const rtsp::Request& request) {
    const auto path = request_uri_path(request.uri);
    if (!path) co_return status_reply(400);
    const auto target = resolve_media_path(context_.config.root, *path);
    if (!target || target->track) co_return status_reply(404);
    // A named lambda, not a temporary: g++ 12 destroys temporaries of a co_await's full-expression twice.
    auto look_up = [&cache = context_.presentations, file = target->file] {
        LookedUp result;
        result.presentation = cache.get(file, result.error);
        return result;
    };
    auto looked_up = co_await run_blocking(*context_.blocking, std::move(look_up));
    const auto& presentation = looked_up.presentation;
    if (!presentation) {
        spdlog::debug("DESCRIBE {}: {}", target->relative, looked_up.error);
        co_return status_reply(415);
    }
    const bool v6 = local_address().is_v6() && !local_address().to_v6().is_v4_mapped();
    std::string sdp = "v=0\r\n";
    sdp += std::string("o=- 0 0 IN ") + (v6 ? "IP6 " : "IP4 ") + net::unmap(local_address()).to_string() +
           "\r\n";
    sdp += "s=" + target->relative + "\r\n";
    sdp += std::string("c=IN ") + (v6 ? "IP6 ::" : "IP4 0.0.0.0") + "\r\n";
    sdp += "t=0 0\r\n";
    sdp += "a=tool:streamgate\r\n";
    sdp += "a=control:*\r\n";
    const double duration = presentation->layout.duration;
    if (context_.config.loop || duration <= 0.0) {
        sdp += "a=range:npt=0-\r\n";
    } else {
        sdp += "a=range:npt=0-" + format_npt(duration) + "\r\n";
    }
    sdp += presentation->media_sdp;
    auto response = status_reply(200);
    response.headers.set("Content-Base", content_base(request.uri));
    response.headers.set("Content-Type", "application/sdp");
    response.body = std::move(sdp);
    co_return response;
}

asio::awaitable<rtsp::Response> RtspConnection::handle_setup(const rtsp::Request& request) {
    const auto path = request_uri_path(request.uri);
    if (!path) co_return status_reply(400);
    const auto target = resolve_media_path(context_.config.root, *path);
    if (!target) co_return status_reply(404);
    const auto* transport_header = request.headers.get("Transport");
    if (transport_header == nullptr) co_return status_reply(400);
    const auto specs = rtsp::parse_transport(*transport_header);
    if (!specs) co_return status_reply(400);
    const auto* spec = choose_unicast_transport(*specs);
    if (spec == nullptr) co_return status_reply(461);

    std::shared_ptr<Session> session;
    if (request.headers.contains("Session")) {
        int status = 200;
        session = find_session(request, status);
        if (!session) co_return status_reply(status);
        if (session->path() != target->relative)
            co_return status_reply(459);  // one file per aggregate session
        if (session->state() == SessionState::playing) co_return status_reply(455);
    } else {
        if (sessions_.size() >= k_max_sessions) co_return status_reply(453);
        // The cached probe lets the viewer's own demuxer open without probing the file again.
        auto open_file = [&cache = context_.presentations, path = target->file,
                          force_mp2t = context_.config.mp2t] {
            Opened result;
            const auto presentation = cache.get(path, result.error);
            if (presentation)
                result.file = MediaFile::open(path, result.error, force_mp2t, &presentation->layout);
            return result;
        };
        auto opened = co_await run_blocking(*context_.blocking, std::move(open_file));
        auto& file = opened.file;
        if (!file) {
            spdlog::debug("SETUP {}: {}", target->relative, opened.error);
            co_return status_reply(415);
        }
        // The connection may have been closed or filled up while the file was opened.
        if (!is_open()) co_return status_reply(503);
        if (sessions_.size() >= k_max_sessions) co_return status_reply(453);
        std::vector<TrackPacketizer> packetizers;
        for (std::size_t i = 0; i < file->tracks().size(); ++i) {
            auto packetizer = TrackPacketizer::create(file->tracks()[i], i, context_.config.max_payload);
            if (!packetizer) co_return status_reply(415);
            packetizers.push_back(std::move(*packetizer));
        }
        session = std::make_shared<Session>(executor(), new_session_id(), target->relative, peer(),
                                            std::move(file), std::move(packetizers), context_.config.loop);
        session->set_interleaved_sink(
            std::weak_ptr<InterleavedSink>(std::static_pointer_cast<RtspConnection>(shared_from_this())));
    }
    const std::size_t track = target->track.value_or(0);
    if (track >= session->track_count() || (!target->track && session->track_count() != 1))
        co_return status_reply(404);
    if (session->is_set_up(track)) co_return status_reply(455);

    rtsp::TransportSpec answer;
    answer.delivery = rtsp::Delivery::unicast;
    TrackTransport transport;
    if (spec->is_tcp()) {
        const auto channels = spec->interleaved.value_or(rtsp::ChannelRange{
            static_cast<std::uint8_t>(2 * track), static_cast<std::uint8_t>(2 * track + 1)});
        transport.tcp = true;
        transport.rtp_channel = channels.first;
        transport.rtcp_channel =
            channels.last == channels.first ? static_cast<std::uint8_t>(channels.first + 1) : channels.last;
        answer.lower = spec->lower;
        answer.interleaved = rtsp::ChannelRange{transport.rtp_channel, transport.rtcp_channel};
    } else {
        // Media goes to the address the request came from, never to a `destination` the client names:
        // otherwise the server could be aimed at a third party.
        transport.udp = context_.ports.allocate(executor(), local_address());
        if (!transport.udp) co_return status_reply(453);
        const auto client = *spec->client_port;
        const auto rtcp_port =
            client.is_single() ? static_cast<std::uint16_t>(client.first + 1) : client.last;
        transport.client_rtp = {peer_address(), client.first};
        transport.client_rtcp = {peer_address(), rtcp_port};
        if (local_address().is_v6() && local_address().to_v6().is_v4_mapped()) {
            transport.client_rtp = {asio::ip::make_address_v6(asio::ip::v4_mapped, peer_address().to_v4()),
                                    client.first};
            transport.client_rtcp = {transport.client_rtp.address(), rtcp_port};
        }
        const auto server_rtp = transport.udp->rtp.local_endpoint().port();
        answer.client_port = rtsp::PortRange{client.first, rtcp_port};
        answer.server_port = rtsp::PortRange{server_rtp, static_cast<std::uint16_t>(server_rtp + 1)};
    }
    answer.ssrc = session->ssrc(track);
    session->set_up(track, std::move(transport));
    if (!sessions_.contains(session->id())) {
        sessions_.emplace(session->id(), session);
        ++context_.sessions_started;
    }
    auto response = status_reply(200);
    response.headers.set("Transport", rtsp::to_header_value(answer));
    response.headers.set(
        "Session", rtsp::to_header_value(rtsp::SessionHeader{
                       session->id(), static_cast<std::uint32_t>(context_.config.session_timeout.count())}));
    co_return response;
}

rtsp::Response RtspConnection::handle_play(const rtsp::Request& request, Session& session) {
    std::optional<double> start;
    if (const auto* range_header = request.headers.get("Range")) {
        const auto range = rtsp::parse_range(*range_header);
        if (!range || range->npt() == nullptr) return status_reply(457);
        const auto& npt = *range->npt();
        if (npt.start && !npt.start->now) {
            start = npt.start->seconds;
            if (session.duration() > 0.0 && *start > session.duration() && !context_.config.loop)
                return status_reply(457);
        }
    }
    const auto position = session.play(start);
    if (!position) return status_reply(457);
    auto response = status_reply(200);
    std::string range = "npt=" + format_npt(position->npt) + "-";
    if (!context_.config.loop && session.duration() > 0.0) range += format_npt(session.duration());
    response.headers.set("Range", range);
    std::vector<rtsp::RtpInfoEntry> entries;
    const std::string base = content_base(request.uri);
    for (const auto& track : position->tracks) {
        rtsp::RtpInfoEntry entry;
        entry.url = base + track_control(track.index);
        entry.seq = track.seq;
        entry.rtptime = track.rtptime;
        entries.push_back(std::move(entry));
    }
    response.headers.set("RTP-Info", rtsp::to_header_value(entries));
    return response;
}

rtsp::Response RtspConnection::handle_session_request(const rtsp::Request& request) {
    int status = 200;
    const auto session = find_session(request, status);
    const std::string& method = request.method;
    if (!session) {
        // Keep-alives without a session are harmless (RFC 2326 §10.8: GET_PARAMETER as a ping).
        if ((method == "GET_PARAMETER" || method == "SET_PARAMETER") &&
            !request.headers.contains("Session") && request.body.empty())
            return status_reply(200);
        return status_reply(status);
    }
    auto response = status_reply(200);
    response.headers.set(
        "Session", rtsp::to_header_value(rtsp::SessionHeader{
                       session->id(), static_cast<std::uint32_t>(context_.config.session_timeout.count())}));
    if (method == "PLAY") {
        auto play = handle_play(request, *session);
        if (play.status == 200) {
            for (const auto& header : response.headers)
                play.headers.set(header.name, header.value);
        }
        return play;
    }
    if (method == "PAUSE") {
        session->pause();
        return response;
    }
    if (method == "TEARDOWN") {
        end_session(*session, "teardown");
        sessions_.erase(session->id());
        return response;
    }
    // GET_PARAMETER / SET_PARAMETER: we have no parameters; an empty one is a keep-alive.
    if (!request.body.empty()) return status_reply(451);
    return response;
}

}  // namespace sg::server
