#include "proxy/proxy_connection.hpp"

#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "client/presentation.hpp"
#include "common/text.hpp"
#include "net/asio_endpoint.hpp"
#include "net/rate_limited_log.hpp"
#include "proxy/mount.hpp"
#include "proxy/mount_description.hpp"
#include "proxy/mount_multicast.hpp"
#include "proxy/mount_vod.hpp"
#include "restream/mount_sdp.hpp"
#include "rtsp/rtp_info.hpp"
#include "rtsp/session_header.hpp"
#include "rtsp/simple_headers.hpp"
#include "rtsp/transport.hpp"
#include "rtsp/url.hpp"
#include "rtsp_server/request_helpers.hpp"
#include "rtsp_server/transport_choice.hpp"

namespace sg::proxy {
namespace {

using server::check_request;
using server::choose_unicast_transport;
using server::content_base;
using server::find_named_session;
using server::is_session_method;
using server::is_sessionless_keepalive;
using server::new_session_id;
using server::status_reply;

constexpr std::string_view k_public =
    "OPTIONS, DESCRIBE, ANNOUNCE, SETUP, PLAY, PAUSE, RECORD, TEARDOWN, GET_PARAMETER, SET_PARAMETER";
// What a mount that is not publishable allows (the Allow header of a 405).
constexpr std::string_view k_player_methods =
    "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER";

// The mount name and track of a Request-URI: "rtsp://gw/NAME" is the aggregate, ".../NAME/trackN" a track
// (`track_prefix` "track"; the VOD cache's playback names them "trackID=N", as serve does).
struct Target {
    std::string mount;
    std::optional<std::size_t> track;
};

std::optional<Target> parse_target(std::string_view uri, std::string_view track_prefix = "track") {
    const auto url = rtsp::parse_url(uri);
    if (!url) return std::nullopt;
    std::string_view path = url->path;
    path = path.substr(0, path.find('?'));
    while (!path.empty() && path.front() == '/')
        path.remove_prefix(1);
    while (!path.empty() && path.back() == '/')
        path.remove_suffix(1);
    if (path.empty()) return std::nullopt;
    Target target;
    const auto slash = path.rfind('/');
    if (slash != std::string_view::npos && path.substr(slash + 1).starts_with(track_prefix)) {
        const auto index = parse_uint<std::size_t>(path.substr(slash + 1 + track_prefix.size()));
        if (!index) return std::nullopt;
        target.track = *index;
        path = path.substr(0, slash);
    }
    target.mount = std::string(path);
    return target;
}

// The mount and track of a Request-URI of cached playback: serve's engine names tracks "NAME/trackID=N".
std::optional<Target> parse_cached_target(std::string_view uri) {
    return parse_target(uri, "trackID=");
}

// serve's engine's view of a cached mount's Request-URI path: the mount's recording and the track.
Result<server::MediaTarget> cached_target(
    std::string_view path, const std::function<std::shared_ptr<Mount>(std::string_view)>& find) {
    const auto target = parse_cached_target("rtsp://host" + std::string(path));
    if (!target) return fail("not a mount");
    const auto mount = find(target->mount);
    if (!mount) return fail("no such mount");
    auto file = mount->cached_file();
    if (!file) return fail("no recording");
    return server::MediaTarget{std::move(*file), target->mount, target->track};
}

// The channels an interleaved SETUP of `track` gets (the ones asked for, an RTCP channel one above a single
// one; else 2N and 2N+1), also written into the answer.
rtsp::ChannelRange interleaved_channels(const rtsp::TransportSpec& spec, std::size_t track,
                                        rtsp::TransportSpec& answer) {
    const auto asked = spec.interleaved.value_or(
        rtsp::ChannelRange{static_cast<std::uint8_t>(2 * track), static_cast<std::uint8_t>(2 * track + 1)});
    const auto rtcp = asked.last == asked.first ? static_cast<std::uint8_t>(asked.first + 1) : asked.last;
    answer.lower = spec.lower;
    answer.interleaved = rtsp::ChannelRange{asked.first, rtcp};
    return *answer.interleaved;
}

bool is_record_mode(const rtsp::TransportSpec& spec) {
    for (const auto& mode : spec.modes)
        if (iequals(mode, "record")) return true;
    return false;
}

}  // namespace

ProxyConnection::ProxyConnection(asio::ip::tcp::socket socket,
                                 std::shared_ptr<const ProxyConnectionContext> context)
    : RtspServerConnection(std::move(socket), k_max_queued_bytes, context->session_timeout),
      context_(std::move(context)) {
    if (context_->vod) {
        cached_ = std::make_unique<server::FileSessions>(
            *context_->vod->server, *this,
            [find = context_->find_mount](std::string_view path) { return cached_target(path, find); });
    }
}

void ProxyConnection::on_close(std::string_view reason) {
    if (cached_) cached_->end_all(reason);
    for (auto& [id, session] : sessions_)
        session->stop(reason);
    sessions_.clear();
    retired_.clear();
    end_publishers(reason);
}

void ProxyConnection::end_publishers(std::string_view reason) {
    if (announced_) announced_->stop(reason);
    announced_.reset();
    // Taken out first: ending a publisher ends its players, which may close this connection (one of them
    // playing here), and so call this again.
    const auto publishers = std::move(publishers_);
    publishers_.clear();
    for (const auto& [id, publisher] : publishers)
        publisher->stop(reason);
}

void ProxyConnection::close_after_flush(std::string reason) {
    RtspServerConnection::close_after_flush(std::move(reason));
}

void ProxyConnection::on_replied() {
    // The PLAY reply is queued: a late joiner's cached GOP follows it (interleaved frames before the reply
    // would be taken for a malformed reply, or skipped).
    if (const auto session = std::move(join_burst_)) session->send_join_burst();
    join_burst_.reset();
}

void ProxyConnection::on_closing(std::string_view reason) {
    // Sessions end now (their BYE is queued already); the writer closes once the queue is out.
    for (auto& [id, session] : sessions_) {
        session->stop(reason);
        retired_.push_back(session);
    }
    sessions_.clear();
    end_publishers(reason);
}

void ProxyConnection::append_players(std::vector<PlayerSnapshot>& out, Clock::time_point now) const {
    for (const auto& [id, session] : sessions_)
        out.push_back(session->snapshot(now));
    if (!cached_) return;
    // Players served from the VOD cache, as the mount's other players are shown.
    cached_->for_each([&](const server::Session& session) {
        PlayerSnapshot snapshot;
        snapshot.id = session.id();
        snapshot.mount = session.path();
        snapshot.client = session.peer();
        snapshot.user = user_;
        snapshot.transport = session.any_set_up() ? std::string(session.transport_name()) : "none";
        snapshot.playing = session.state() == server::SessionState::playing;
        snapshot.packets = session.stats().packets;
        snapshot.bytes = session.stats().octets;
        snapshot.dropped = session.stats().dropped;
        snapshot.age = now - session.created();
        out.push_back(std::move(snapshot));
    });
}

bool ProxyConnection::end_player(const std::string& id) {
    if (cached_ && cached_->end(id, "ended by operator")) return true;
    const auto it = sessions_.find(id);
    if (it == sessions_.end()) return false;
    const auto session = it->second;  // close_after_flush() empties sessions_
    session->end_from_mount("ended by operator");
    return true;
}

bool ProxyConnection::send_interleaved(std::uint8_t channel, std::span<const std::uint8_t> frame) {
    return queue_interleaved(channel, Bytes(frame.data(), frame.size()));
}

bool ProxyConnection::send_interleaved_deferred(std::uint8_t channel, std::span<const std::uint8_t> frame) {
    return queue_interleaved_deferred(channel, Bytes(frame.data(), frame.size()));
}

std::size_t ProxyConnection::expire_sessions(Clock::time_point now, Clock::duration timeout) {
    const auto players =
        server::expire_idle_sessions(sessions_, now, timeout, [this](PlayerSession& session) {
            session.stop("timeout");
            note_activity();
        });
    const auto publishers =
        server::expire_idle_sessions(publishers_, now, timeout, [this](PublisherSession& publisher) {
            publisher.stop("timeout");
            note_activity();
        });
    if (announced_ && now - announced_->last_activity() > timeout) {
        announced_->stop("timeout");
        announced_.reset();
    }
    const std::size_t cached = cached_ ? cached_->expire(now, timeout) : 0;
    return players + publishers + cached + (announced_ ? 1 : 0);
}

void ProxyConnection::on_interleaved(const rtsp::InterleavedFrame& frame) {
    if (cached_) cached_->touch_all();
    for (auto& [id, session] : sessions_)
        session->touch();
    for_each_publisher([&frame](PublisherSession& publisher) {
        publisher.on_interleaved(frame.channel,
                                 std::span<const std::uint8_t>(frame.payload.data(), frame.payload.size()));
    });
}

void ProxyConnection::on_interleaved_done() {
    for_each_publisher([](PublisherSession& publisher) { publisher.on_interleaved_done(); });
}

template <typename Fn>
void ProxyConnection::for_each_publisher(Fn&& fn) {
    // A publisher's media reaches the mount's players, and one of them playing on this very connection may
    // be cut off as too slow, which ends this connection's publishers (end_publishers): the walk resumes
    // after the current one's id, and holds it meanwhile.
    for (auto it = publishers_.begin(); it != publishers_.end();) {
        const auto publisher = it->second;
        fn(*publisher);
        it = publishers_.upper_bound(publisher->id());
    }
}

std::optional<rtsp::Response> ProxyConnection::authenticate(const rtsp::Request& request,
                                                            const rtsp::DigestServer& auth,
                                                            std::string& user) {
    const auto now = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch()).count());
    auto check = auth.verify(request.headers.get("Authorization"), request.method, request.uri, now);
    // A connection that authenticated already goes on with correct credentials over an expired nonce:
    // players reuse their nonce for hours of keep-alives, and a replay would need this very TCP
    // connection. A new connection needs a fresh nonce.
    if (check.verdict == rtsp::DigestVerdict::ok ||
        (check.verdict == rtsp::DigestVerdict::stale && !user.empty() && check.user == user)) {
        user = std::move(check.user);
        return std::nullopt;
    }
    if (check.verdict == rtsp::DigestVerdict::refused) {
        if (context_->auth_failures != nullptr) context_->auth_failures->inc();
        // Peer-triggered (password guessing): rate-limited. The claimed name is untrusted input: bounded.
        static net::RateLimitedLog auth_failure_log("rtsp proxy: failed Digest authentications");
        auth_failure_log.info("rtsp {} {} {} {}: 401, user '{}': {}",
                              &auth == context_->auth.get() ? "player" : "publisher", peer(), request.method,
                              request.uri.substr(0, 256), check.user.substr(0, 64), check.reason);
    }
    auto response = status_reply(401);
    response.headers.set("WWW-Authenticate",
                         auth.challenge(now, check.verdict == rtsp::DigestVerdict::stale));
    return response;
}

std::shared_ptr<PlayerSession> ProxyConnection::find_session(const rtsp::Request& request, int& status) {
    return find_named_session(sessions_, request, status);
}

asio::awaitable<rtsp::Response> ProxyConnection::handle(const rtsp::Request& request) {
    if (auto refused = check_request(request)) co_return std::move(*refused);
    const std::string& method = request.method;
    if (method == "OPTIONS") {
        auto response = status_reply(200);
        response.headers.set("Public", k_public);
        co_return response;
    }
    if (method == "ANNOUNCE") co_return handle_announce(request);
    if (is_publisher_request(request)) co_return handle_publisher_request(request);
    if (context_->auth) {
        if (auto challenge = authenticate(request, *context_->auth, user_)) co_return std::move(*challenge);
    }
    auto deciding = for_cached_playback(request);
    if (co_await std::move(deciding)) {
        auto handling = cached_->handle(request);
        co_return co_await std::move(handling);
    }
    if (method == "DESCRIBE") {
        auto describing = handle_describe(request);
        co_return co_await std::move(describing);
    }
    if (method == "SETUP") {
        auto setting_up = handle_setup(request);
        co_return co_await std::move(setting_up);
    }
    if (is_session_method(method)) co_return handle_session_request(request);
    auto response = status_reply(501);
    response.headers.set("Public", k_public);
    co_return response;
}

// A request of a session served from the VOD cache, a DESCRIBE of a mount whose recording is usable, or a
// SETUP opening a session of a recording.
asio::awaitable<bool> ProxyConnection::for_cached_playback(const rtsp::Request& request) {
    if (!cached_) co_return false;
    if (cached_->owns_session(request)) co_return true;
    if (request.method != "DESCRIBE" && (request.method != "SETUP" || request.headers.contains("Session")))
        co_return false;
    const auto target = parse_cached_target(request.uri);
    if (!target) co_return false;
    const auto mount = context_->find_mount(target->mount);
    if (!mount) co_return false;
    if (request.method == "SETUP") co_return target->track && mount->cached_file().has_value();
    if (target->track) co_return false;
    auto deciding = mount->serve_from_cache();
    co_return co_await std::move(deciding);
}

asio::awaitable<rtsp::Response> ProxyConnection::handle_describe(const rtsp::Request& request) {
    const auto target = parse_target(request.uri);
    if (!target || target->track) co_return status_reply(404);
    const auto mount = context_->find_mount(target->mount);
    if (!mount) co_return status_reply(404);
    std::string why;
    auto describing = mount->describe(why);
    const auto description = co_await std::move(describing);
    if (!description) {
        // Every player asking while the upstream is down would repeat the line: rate-limited.
        static net::RateLimitedLog describe_failure_log("rtsp proxy: DESCRIBEs answered 502");
        describe_failure_log.info("rtsp player {} DESCRIBE {}: 502 ({})", peer(), target->mount, why);
        co_return status_reply(502);
    }
    const auto local = net::unmap(local_address());
    const bool v6 = local.is_v6();
    auto sdp = mount_sdp(description->upstream_sdp, local.to_string(), v6);
    if (!sdp) co_return status_reply(502);
    auto response = status_reply(200);
    response.headers.set("Content-Base", content_base(request.uri));
    response.headers.set("Content-Type", "application/sdp");
    response.body = std::move(*sdp);
    co_return response;
}

asio::awaitable<rtsp::Response> ProxyConnection::handle_setup(const rtsp::Request& request) {
    const auto target = parse_target(request.uri);
    if (!target) co_return status_reply(404);
    const auto mount = context_->find_mount(target->mount);
    if (!mount) co_return status_reply(404);
    const auto* transport_header = request.headers.get("Transport");
    if (transport_header == nullptr) co_return status_reply(400);
    const auto specs = rtsp::parse_transport(*transport_header);
    if (!specs) co_return status_reply(400);
    const auto& groups = context_->multicast;
    const bool v6 = udp_family() == asio::ip::udp::v6();
    const bool multicast_enabled =
        groups && (groups->settings().enabled_for(v6) || mount->has_fixed_group(v6));
    const auto* spec = server::choose_transport(*specs, multicast_enabled);
    if (spec == nullptr) co_return status_reply(461);
    const rtsp::TransportSpec chosen = *spec;

    // A SETUP without DESCRIBE (players that cached the SDP) starts the upstream too.
    std::string why;
    auto describing = mount->describe(why);
    const auto description = co_await std::move(describing);
    if (!is_open()) co_return status_reply(503);
    if (!description) co_return status_reply(502);
    const std::size_t track_count = description->clock_rates.size();

    const std::size_t track = target->track.value_or(0);
    if (track >= track_count || (!target->track && track_count != 1)) co_return status_reply(404);
    std::shared_ptr<PlayerSession> session;
    if (request.headers.contains("Session")) {
        int status = 200;
        session = find_session(request, status);
        if (!session) co_return status_reply(status);
        if (&session->mount() != mount.get()) co_return status_reply(459);
        if (session->playing()) co_return status_reply(455);
    } else {
        if (sessions_.size() >= k_max_sessions) co_return status_reply(453);
        session = std::make_shared<PlayerSession>(
            new_session_id(), mount, peer(), track_count,
            std::weak_ptr<PlayerSink>(std::static_pointer_cast<ProxyConnection>(shared_from_this())));
        if (!user_.empty()) session->set_user(user_);
    }
    if (track >= session->tracks().size()) co_return status_reply(404);
    if (session->tracks()[track].set_up) co_return status_reply(455);
    // A session is either multicast or unicast (as in serve).
    if (session->any_set_up() && chosen.is_multicast() != (session->multicast() != nullptr))
        co_return status_reply(461);
    if (chosen.is_multicast()) {
        const bool wait_key_frame =
            track < description->wait_key_frame.size() && description->wait_key_frame[track];
        std::string error;
        auto group = session->multicast();
        if (!group) group = mount->multicast_group(v6, groups, track_count, error);
        const auto ssrc =
            group ? group->set_up_track(track, description->clock_rates[track], wait_key_frame, error)
                  : std::nullopt;
        if (!ssrc) {
            static net::RateLimitedLog group_log("rtsp proxy: multicast SETUPs without a group");
            group_log.warn("rtsp player {} SETUP {}: 453 ({})", peer(), request.uri, error);
            co_return status_reply(453);
        }
        session->set_up_member(track, group);
        co_return setup_reply(session, server::multicast_answer(group->lease().group, group->rtp_port(track),
                                                                group->ttl(), *ssrc));
    }

    rtsp::TransportSpec answer;
    answer.delivery = rtsp::Delivery::unicast;
    PlayerTrack transport;
    if (chosen.is_tcp()) {
        const auto channels = interleaved_channels(chosen, track, answer);
        transport.tcp = true;
        transport.rtp_channel = channels.first;
        transport.rtcp_channel = channels.last;
    } else {
        // Every UDP player of this track shares one server port pair: one sendmmsg reaches them all.
        std::string error;
        auto port = mount->fanout_port(track, udp_family(), error);
        if (!port) {
            log_port_starved("player", error);
            co_return status_reply(453);
        }
        // Media goes to the address the request came from, never to a `destination` the player names.
        const auto client = *chosen.client_port;
        const auto rtcp_port =
            client.is_single() ? static_cast<std::uint16_t>(client.first + 1) : client.last;
        transport.client_rtp = {peer_address(), client.first};
        transport.client_rtcp = {peer_address(), rtcp_port};
        answer.client_port = rtsp::PortRange{client.first, rtcp_port};
        answer.server_port =
            rtsp::PortRange{port->rtp_port(), static_cast<std::uint16_t>(port->rtp_port() + 1)};
        transport.fanout = std::move(port);
    }
    session->set_up(track, std::move(transport), description->clock_rates[track],
                    track < description->wait_key_frame.size() && description->wait_key_frame[track]);
    answer.ssrc = session->tracks()[track].rewriter->ssrc();
    co_return setup_reply(session, answer);
}

rtsp::Response ProxyConnection::setup_reply(const std::shared_ptr<PlayerSession>& session,
                                            const rtsp::TransportSpec& answer) {
    sessions_.emplace(session->id(), session);
    auto response = status_reply(200);
    response.headers.set("Transport", rtsp::to_header_value(answer));
    response.headers.set("Session",
                         rtsp::to_header_value(rtsp::SessionHeader{
                             session->id(), static_cast<std::uint32_t>(context_->session_timeout.count())}));
    return response;
}

asio::ip::udp ProxyConnection::udp_family() const {
    return net::unmap(local_address()).is_v6() ? asio::ip::udp::v6() : asio::ip::udp::v4();
}

void ProxyConnection::log_port_starved(std::string_view role, const std::string& error) const {
    static net::RateLimitedLog port_starved_log("rtsp proxy: SETUPs without a UDP port pair");
    port_starved_log.warn("rtsp {} {} SETUP: {}", role, peer(), error);
}

std::optional<client::UdpPortPair> ProxyConnection::open_port_pair(std::string_view role) {
    std::string error;
    auto pair = client::open_udp_port_pair(executor(), udp_family(), error);
    if (!pair) log_port_starved(role, error);
    return pair;
}

rtsp::Response ProxyConnection::handle_play(const rtsp::Request& request, PlayerSession& session) {
    session.play();
    auto response = status_reply(200);
    response.headers.set("Range", "npt=now-");
    std::vector<rtsp::RtpInfoEntry> entries;
    const std::string base = content_base(request.uri);
    const auto target = parse_target(request.uri);
    const auto now = Clock::now();
    // A multicast member's numbers are its group's.
    PlayerSession* group = session.multicast() ? session.multicast()->stream().get() : nullptr;
    for (std::size_t i = 0; i < session.tracks().size(); ++i) {
        if (!session.tracks()[i].set_up) continue;
        const auto& track = group != nullptr ? group->tracks()[i] : session.tracks()[i];
        if (!track.rewriter) continue;
        // The first packet after this PLAY carries these numbers (see RtpRewriter).
        rtsp::RtpInfoEntry entry;
        entry.url = target && target->track ? std::string(request.uri) : base + mount_track_control(i);
        if (track.rewriter->started()) {
            entry.seq = static_cast<std::uint16_t>(track.rewriter->last_seq() + 1);
            entry.rtptime = track.rewriter->sender_info(std::nullopt, now, 0).rtp_timestamp;
        } else {
            entry.seq = track.rewriter->start().seq;
            entry.rtptime = track.rewriter->start().timestamp;
        }
        entries.push_back(std::move(entry));
    }
    response.headers.set("RTP-Info", rtsp::to_header_value(entries));
    return response;
}

rtsp::Response ProxyConnection::handle_session_request(const rtsp::Request& request) {
    int status = 200;
    const auto session = find_session(request, status);
    const std::string& method = request.method;
    if (!session) {
        if (is_sessionless_keepalive(request)) return status_reply(200);
        return status_reply(status);
    }
    const auto session_header = rtsp::to_header_value(
        rtsp::SessionHeader{session->id(), static_cast<std::uint32_t>(context_->session_timeout.count())});
    if (method == "PLAY") {
        if (!session->any_set_up()) return status_reply(455);
        auto play = handle_play(request, *session);
        play.headers.set("Session", session_header);
        if (session->join_burst_pending()) join_burst_ = session;
        return play;
    }
    auto response = status_reply(200);
    response.headers.set("Session", session_header);
    if (method == "PAUSE") {
        session->pause();
        return response;
    }
    if (method == "TEARDOWN") {
        session->stop("teardown");
        sessions_.erase(session->id());
        return response;
    }
    if (!request.body.empty()) return status_reply(451);
    return response;
}

bool ProxyConnection::is_publisher_request(const rtsp::Request& request) const {
    if (request.method == "RECORD") return true;
    if (const auto* header = request.headers.get("Session")) {
        if (const auto parsed = rtsp::parse_session(*header)) return publishers_.contains(parsed->id);
        return false;
    }
    // The first SETUP of an announced session names no session yet: its mode says it records.
    if (request.method != "SETUP" || !announced_) return false;
    const auto* transport = request.headers.get("Transport");
    if (transport == nullptr) return false;
    const auto specs = rtsp::parse_transport(*transport);
    return specs && !specs->empty() && is_record_mode(specs->front());
}

rtsp::Response ProxyConnection::handle_announce(const rtsp::Request& request) {
    const auto target = parse_target(request.uri);
    if (!target || target->track) return status_reply(404);
    const auto mount = context_->find_mount(target->mount);
    if (!mount) return status_reply(404);
    if (!mount->publishable()) {
        auto response = status_reply(405);
        response.headers.set("Allow", k_player_methods);
        return response;
    }
    if (const auto& auth = mount->publish_auth()) {
        if (auto challenge = authenticate(request, *auth, publish_user_)) return std::move(*challenge);
    }
    const auto* type = request.headers.get("Content-Type");
    if (type == nullptr || !iequals(trim(type->substr(0, type->find(';'))), "application/sdp"))
        return status_reply(415);
    auto description = describe_mount(request.body);
    // The publisher's SETUPs name its tracks by its own controls, relative to the ANNOUNCE URI.
    const auto presentation = client::parse_presentation(request.body, content_base(request.uri));
    if (!description || !presentation) {
        static net::RateLimitedLog bad_sdp_log("rtsp proxy: ANNOUNCEs with an unusable SDP");
        bad_sdp_log.info("rtsp publisher {} ANNOUNCE {}: 400 ({})", peer(), target->mount,
                         description ? presentation.error() : description.error());
        return status_reply(400);
    }
    if (!mount->accepts_publisher()) {
        static net::RateLimitedLog busy_log("rtsp proxy: ANNOUNCEs to a mount with a publisher");
        busy_log.info("rtsp publisher {} ANNOUNCE {}: 455 (another publisher holds the mount)", peer(),
                      target->mount);
        return status_reply(455);
    }
    std::vector<std::string> controls;
    for (const auto& track : presentation->tracks)
        controls.push_back(track.control_url);
    if (announced_) announced_->stop("announced again");
    announced_ = std::make_shared<PublisherSession>(
        new_session_id(), mount, peer(), peer_address(), std::move(*description), std::move(controls),
        std::weak_ptr<PlayerSink>(std::static_pointer_cast<ProxyConnection>(shared_from_this())));
    if (!publish_user_.empty()) announced_->set_user(publish_user_);
    (void)mount->claim_publisher(announced_.get());  // accepts_publisher() said it would
    mount->metrics().publishers_total->inc();
    return status_reply(200);
}

rtsp::Response ProxyConnection::handle_publisher_request(const rtsp::Request& request) {
    const std::string& method = request.method;
    int status = 200;
    std::shared_ptr<PublisherSession> publisher;
    if (request.headers.contains("Session")) {
        publisher = find_named_session(publishers_, request, status);
        if (!publisher) return status_reply(status);
    } else if (method == "SETUP") {
        return handle_record_setup(request);
    } else {
        return status_reply(454);
    }
    if (const auto& auth = publisher->mount().publish_auth()) {
        if (auto challenge = authenticate(request, *auth, publish_user_)) return std::move(*challenge);
    }
    if (method == "SETUP") return handle_record_setup(request);
    auto response = status_reply(200);
    response.headers.set(
        "Session", rtsp::to_header_value(rtsp::SessionHeader{
                       publisher->id(), static_cast<std::uint32_t>(context_->session_timeout.count())}));
    if (method == "RECORD") {
        if (!publisher->any_set_up()) return status_reply(455);
        publisher->record();
        return response;
    }
    if (method == "TEARDOWN") {
        publisher->stop("teardown");
        publishers_.erase(publisher->id());
        return response;
    }
    if (method == "GET_PARAMETER" || method == "SET_PARAMETER" || method == "OPTIONS") return response;
    return status_reply(455);  // PLAY or PAUSE on a session that records
}

rtsp::Response ProxyConnection::handle_record_setup(const rtsp::Request& request) {
    std::shared_ptr<PublisherSession> publisher;
    if (request.headers.contains("Session")) {
        int status = 200;
        publisher = find_named_session(publishers_, request, status);
        if (!publisher) return status_reply(status);
    } else {
        publisher = announced_;
        if (const auto& auth = publisher->mount().publish_auth()) {
            if (auto challenge = authenticate(request, *auth, publish_user_)) return std::move(*challenge);
        }
    }
    if (publisher->recording()) return status_reply(455);
    const auto track = publisher->track_of(request.uri);
    if (!track) return status_reply(404);
    if (publisher->tracks()[*track].set_up) return status_reply(455);
    const auto* transport_header = request.headers.get("Transport");
    if (transport_header == nullptr) return status_reply(400);
    const auto specs = rtsp::parse_transport(*transport_header);
    if (!specs) return status_reply(400);
    const auto* spec = choose_unicast_transport(*specs);
    if (spec == nullptr) return status_reply(461);

    rtsp::TransportSpec answer;
    answer.delivery = rtsp::Delivery::unicast;
    answer.modes = {"RECORD"};
    answer.mode_quoted = false;
    PublisherTrack transport;
    if (spec->is_tcp()) {
        const auto channels = interleaved_channels(*spec, *track, answer);
        transport.tcp = true;
        transport.rtp_channel = channels.first;
        transport.rtcp_channel = channels.last;
    } else {
        auto pair = open_port_pair("publisher");
        if (!pair) return status_reply(453);
        answer.client_port = spec->client_port;
        answer.server_port = rtsp::PortRange{pair->rtp_port, static_cast<std::uint16_t>(pair->rtp_port + 1)};
        transport.udp = std::move(pair);
    }
    publisher->set_up(*track, std::move(transport));
    if (publisher == announced_) {
        publishers_.emplace(publisher->id(), publisher);
        announced_.reset();
    }
    auto response = status_reply(200);
    response.headers.set("Transport", rtsp::to_header_value(answer));
    response.headers.set(
        "Session", rtsp::to_header_value(rtsp::SessionHeader{
                       publisher->id(), static_cast<std::uint32_t>(context_->session_timeout.count())}));
    return response;
}

}  // namespace sg::proxy
