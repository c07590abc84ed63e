#include "server/file_sessions.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cstdio>

#include "net/asio_endpoint.hpp"
#include "rtsp/play_rate.hpp"
#include "rtsp/range.hpp"
#include "rtsp/rtp_info.hpp"
#include "rtsp/session_header.hpp"
#include "rtsp/simple_headers.hpp"
#include "rtsp/transport.hpp"
#include "rtsp_server/request_helpers.hpp"
#include "rtsp_server/transport_choice.hpp"
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

void FileSessions::end_all(std::string_view reason) {
    for (auto& [id, session] : sessions_)
        end_session(*session, reason);
    sessions_.clear();
}

bool FileSessions::end(const std::string& id, std::string_view reason) {
    const auto it = sessions_.find(id);
    if (it == sessions_.end()) return false;
    const auto session = it->second;
    sessions_.erase(it);
    end_session(*session, reason);
    return true;
}

void FileSessions::end_session(Session& session, std::string_view reason) {
    leave_group(session.id());
    session.stop(reason);
    ++context_.sessions_ended;
    if (reason == "timeout") ++context_.sessions_timed_out;
    context_.rtp_packets += session.stats().packets;
    context_.rtp_bytes += session.stats().octets;
    context_.dropped += session.stats().dropped;
}

std::size_t FileSessions::expire(RtspServerConnection::Clock::time_point now,
                                 RtspServerConnection::Clock::duration timeout) {
    return expire_idle_sessions(sessions_, now, timeout, [this](Session& session) {
        end_session(session, "timeout");
        connection_.note_activity();
    });
}

void FileSessions::touch_all() {
    for (auto& [id, session] : sessions_)
        session->touch();
}

bool FileSessions::owns_session(const rtsp::Request& request) const {
    const auto* header = request.headers.get("Session");
    if (header == nullptr) return false;
    const auto session = rtsp::parse_session(*header);
    return session && sessions_.contains(session->id);
}

std::shared_ptr<Session> FileSessions::find_session(const rtsp::Request& request, int& status) {
    return find_named_session(sessions_, request, status);
}

asio::awaitable<rtsp::Response> FileSessions::handle(const rtsp::Request& request) {
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
    if (method == "PLAY") {
        int status = 200;
        if (auto session = find_session(request, status); session && memberships_.contains(session->id())) {
            auto response = co_await handle_multicast_play(request, std::move(session));
            co_return response;
        }
    }
    if (is_session_method(method)) co_return handle_session_request(request);
    auto response = status_reply(501);
    response.headers.set("Public", k_public);
    co_return response;
}

asio::awaitable<rtsp::Response> FileSessions::handle_describe(const rtsp::Request& request) {
    const auto path = request_uri_path(request.uri);
    if (!path) co_return status_reply(400);
    const auto target = resolve_(*path);
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
    const bool v6 =
        connection_.local_address().is_v6() && !connection_.local_address().to_v6().is_v4_mapped();
    std::string sdp = "v=0\r\n";
    sdp += std::string("o=- 0 0 IN ") + (v6 ? "IP6 " : "IP4 ") +
           net::unmap(connection_.local_address()).to_string() + "\r\n";
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
    if (!presentation->last_modified.empty())
        response.headers.set("Last-Modified", presentation->last_modified);
    response.body = std::move(sdp);
    co_return response;
}

asio::awaitable<std::shared_ptr<Session>> FileSessions::open_session(const MediaTarget& target,
                                                                     const std::string& peer_name,
                                                                     int& status) {
    // The cached probe lets the viewer's own demuxer open without probing the file again.
    auto open_file = [&cache = context_.presentations, path = target.file,
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
        spdlog::debug("SETUP {}: {}", target.relative, opened.error);
        status = 415;
        co_return nullptr;
    }
    std::vector<TrackPacketizer> packetizers;
    for (std::size_t i = 0; i < file->tracks().size(); ++i) {
        auto packetizer = TrackPacketizer::create(file->tracks()[i], i, context_.config.max_payload);
        if (!packetizer) {
            status = 415;
            co_return nullptr;
        }
        packetizers.push_back(std::move(*packetizer));
    }
    co_return std::make_shared<Session>(connection_.executor(), new_session_id(), target.relative, peer_name,
                                        std::move(file), std::move(packetizers), context_.config.loop);
}

asio::awaitable<rtsp::Response> FileSessions::handle_setup(const rtsp::Request& request) {
    const auto path = request_uri_path(request.uri);
    if (!path) co_return status_reply(400);
    const auto target = resolve_(*path);
    if (!target) co_return status_reply(404);
    const auto* transport_header = request.headers.get("Transport");
    if (transport_header == nullptr) co_return status_reply(400);
    const auto specs = rtsp::parse_transport(*transport_header);
    if (!specs) co_return status_reply(400);
    // Multicast groups are per family of the player's connection.
    const bool family_v6 = net::unmap(connection_.peer_address()).is_v6();
    const auto* spec = choose_transport(*specs, context_.multicast.enabled_for(family_v6));
    if (spec == nullptr) co_return status_reply(461);

    std::shared_ptr<Session> session;
    if (request.headers.contains("Session")) {
        int status = 200;
        session = find_session(request, status);
        if (!session) co_return status_reply(status);
        if (session->path() != target->relative)
            co_return status_reply(459);  // one file per aggregate session
        if (session->state() == SessionState::playing) co_return status_reply(455);
        // One delivery per session: a group's member cannot add a unicast track, nor the reverse.
        if (session->any_set_up() && spec->is_multicast() != memberships_.contains(session->id()))
            co_return status_reply(461);
    } else {
        if (sessions_.size() >= k_max_sessions) co_return status_reply(453);
        int status = 200;
        const std::string peer_name = connection_.peer();
        session = co_await open_session(*target, peer_name, status);
        if (!session) co_return status_reply(status);
        // The connection may have been closed or filled up while the file was opened.
        if (!connection_.is_open()) co_return status_reply(503);
        if (sessions_.size() >= k_max_sessions) co_return status_reply(453);
        session->set_interleaved_sink(std::weak_ptr<InterleavedSink>(
            std::dynamic_pointer_cast<InterleavedSink>(connection_.shared_from_this())));
    }
    const std::size_t track = target->track.value_or(0);
    if (track >= session->track_count() || (!target->track && session->track_count() != 1))
        co_return status_reply(404);
    if (session->is_set_up(track)) co_return status_reply(455);
    if (spec->is_multicast()) {
        auto response = co_await set_up_multicast(*target, std::move(session), track);
        co_return response;
    }

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
        transport.udp = context_.ports.allocate(connection_.executor(), connection_.local_address());
        if (!transport.udp) co_return status_reply(453);
        const auto client = *spec->client_port;
        const auto rtcp_port =
            client.is_single() ? static_cast<std::uint16_t>(client.first + 1) : client.last;
        transport.client_rtp = {connection_.peer_address(), client.first};
        transport.client_rtcp = {connection_.peer_address(), rtcp_port};
        if (connection_.local_address().is_v6() && connection_.local_address().to_v6().is_v4_mapped()) {
            transport.client_rtp = {
                asio::ip::make_address_v6(asio::ip::v4_mapped, connection_.peer_address().to_v4()),
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
    auto response = with_session_header(status_reply(200), *session);
    response.headers.set("Transport", rtsp::to_header_value(answer));
    co_return response;
}

rtsp::Response FileSessions::with_session_header(rtsp::Response response, const Session& session) const {
    response.headers.set(
        "Session", rtsp::to_header_value(rtsp::SessionHeader{
                       session.id(), static_cast<std::uint32_t>(context_.config.session_timeout.count())}));
    return response;
}

// The track of a multicast player is set up in its group: the group's stream (created with the first
// member) opens the track's sockets toward the group on its own event loop; the player's session only
// records that it follows the group.
asio::awaitable<rtsp::Response> FileSessions::set_up_multicast(const MediaTarget& target,
                                                               std::shared_ptr<Session> session,
                                                               std::size_t track) {
    const std::string id = session->id();
    std::shared_ptr<MulticastGroup> group;
    if (const auto it = memberships_.find(id); it != memberships_.end()) group = it->second.group.lock();
    if (!group) {
        const MulticastKey key{target.relative, net::unmap(connection_.peer_address()).is_v6()};
        group = context_.multicast.join_existing(key);
        if (!group) {
            int status = 200;
            const std::string peer_name = "group";
            auto engine = co_await open_session(target, peer_name, status);
            if (!engine) co_return status_reply(status);
            group = context_.multicast.join_or_create(key, std::move(engine));
            if (!group) co_return status_reply(453);  // no free group address or ports in the range
        }
        memberships_[id] = Membership{group, false};
        if (!connection_
                 .is_open()) {  // closed while the group's file was opened: the member never became a session
            leave_group(id);
            co_return status_reply(503);
        }
    }
    auto set_up = [group, track, &ports = context_.ports,
                   &settings = context_.multicast.settings()]() -> asio::awaitable<MulticastTrack> {
        co_return group->set_up_track(track, ports, settings);
    };
    // Named, not a temporary: g++ 12 destroys temporaries of a co_await's full-expression twice.
    const auto group_executor = group->executor();
    const auto grouped = co_await asio::co_spawn(group_executor, std::move(set_up), asio::use_awaitable);
    const bool registered = sessions_.contains(id);
    if (!connection_.is_open() || !grouped.ok) {
        if (!registered) leave_group(id);  // a registered session leaves with end_session
        co_return status_reply(connection_.is_open() ? 453 : 503);
    }
    TrackTransport transport;
    transport.multicast = true;
    session->set_up(track, std::move(transport));
    if (!registered) {
        sessions_.emplace(id, session);
        ++context_.sessions_started;
    }
    const auto& settings = context_.multicast.settings();
    auto response = with_session_header(status_reply(200), *session);
    response.headers.set("Transport",
                         rtsp::to_header_value(multicast_answer(group->lease().group, grouped.rtp_port,
                                                                settings.ttl, grouped.ssrc)));
    co_return response;
}

void FileSessions::leave_group(const std::string& session_id) {
    const auto it = memberships_.find(session_id);
    if (it == memberships_.end()) return;
    if (auto group = it->second.group.lock()) context_.multicast.leave(group, it->second.playing);
    memberships_.erase(it);
}

// PLAY joins the group's stream where it is (the first member's PLAY starts it); Range is not a seek here.
asio::awaitable<rtsp::Response> FileSessions::handle_multicast_play(const rtsp::Request& request,
                                                                    std::shared_ptr<Session> session) {
    const std::string id = session->id();
    auto group = memberships_[id].group.lock();
    if (!group) co_return status_reply(454);
    const bool start = !memberships_[id].playing;
    auto play = [group, start]() -> asio::awaitable<PlayPosition> {
        co_return start ? group->start_playing() : group->position();
    };
    const auto group_executor = group->executor();
    const auto position = co_await asio::co_spawn(group_executor, std::move(play), asio::use_awaitable);
    const auto it = memberships_.find(id);
    if (it == memberships_.end()) {  // the session ended meanwhile: undo our count
        if (start) context_.multicast.pause(group);
        co_return status_reply(454);
    }
    it->second.playing = true;
    auto response = with_session_header(status_reply(200), *session);
    response.headers.set("Range", "npt=" + format_npt(position.npt) + "-");
    // One stream for the whole group: no trick play for a member.
    if (request.headers.contains("Scale")) response.headers.set("Scale", "1");
    if (request.headers.contains("Speed")) response.headers.set("Speed", "1");
    std::vector<rtsp::RtpInfoEntry> entries;
    const std::string base = content_base(request.uri);
    for (const auto& track : position.tracks) {
        rtsp::RtpInfoEntry entry;
        entry.url = base + track_control(track.index);
        entry.seq = track.seq;
        entry.rtptime = track.rtptime;
        entries.push_back(std::move(entry));
    }
    if (!entries.empty()) response.headers.set("RTP-Info", rtsp::to_header_value(entries));
    co_return response;
}

rtsp::Response FileSessions::handle_play(const rtsp::Request& request, Session& session) {
    PlayRate asked;
    const auto* scale = request.headers.get("Scale");
    const auto* speed = request.headers.get("Speed");
    if (scale != nullptr) {
        const auto value = rtsp::parse_scale(*scale);
        if (!value) return status_reply(400);
        asked.scale = *value;
    }
    if (speed != nullptr) {
        const auto value = rtsp::parse_speed(*speed);
        if (!value) return status_reply(400);
        asked.speed = *value;
    }
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
    const auto position = session.play(start, asked);
    if (!position) return status_reply(457);
    auto response = status_reply(200);
    std::string range = "npt=" + format_npt(position->npt) + "-";
    if (position->rate.scale < 0.0) {
        range += "0";  // backwards to the start (RFC 7826 §4.4.2's reverse range)
    } else if (!context_.config.loop && session.duration() > 0.0) {
        range += format_npt(session.duration());
    }
    response.headers.set("Range", range);
    // The rates chosen (RFC 2326 §12.34: the answer carries the Scale actually used).
    if (scale != nullptr) response.headers.set("Scale", rtsp::format_rate(position->rate.scale));
    if (speed != nullptr) response.headers.set("Speed", rtsp::format_rate(position->rate.speed));
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

rtsp::Response FileSessions::handle_session_request(const rtsp::Request& request) {
    int status = 200;
    const auto session = find_session(request, status);
    const std::string& method = request.method;
    if (!session) {
        if (is_sessionless_keepalive(request)) return status_reply(200);
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
        if (const auto it = memberships_.find(session->id()); it != memberships_.end()) {
            auto group = it->second.group.lock();
            if (group && it->second.playing) context_.multicast.pause(group);
            it->second.playing = false;
            return response;
        }
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
