#include "proxy/proxy_connection.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cstdio>
#include <random>

#include "common/text.hpp"
#include "net/asio_endpoint.hpp"
#include "net/rate_limited_log.hpp"
#include "proxy/mount.hpp"
#include "restream/mount_sdp.hpp"
#include "rtsp/rtp_info.hpp"
#include "rtsp/session_header.hpp"
#include "rtsp/simple_headers.hpp"
#include "rtsp/transport.hpp"
#include "rtsp/url.hpp"

namespace sg::proxy {
namespace {

using server::check_request;
using server::find_named_session;
using server::status_reply;

constexpr std::string_view k_public =
    "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER";

std::string new_session_id() {
    static thread_local std::mt19937_64 generator{std::random_device{}()};
    std::array<char, 17> text{};
    std::snprintf(text.data(), text.size(), "%016llx",  // NOLINT(cppcoreguidelines-pro-type-vararg)
                  static_cast<unsigned long long>(generator()));
    return text.data();
}

std::string content_base(std::string_view uri) {
    std::string base(uri.substr(0, uri.find('?')));
    if (base.empty() || base.back() != '/') base += '/';
    return base;
}

// The mount name and track of a Request-URI: "rtsp://gw/NAME" is the aggregate, ".../NAME/trackN" a track.
struct Target {
    std::string mount;
    std::optional<std::size_t> track;
};

std::optional<Target> parse_target(std::string_view uri) {
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
    if (slash != std::string_view::npos && path.substr(slash + 1).starts_with("track")) {
        const auto index = parse_uint<std::size_t>(path.substr(slash + 1 + 5));
        if (!index) return std::nullopt;
        target.track = *index;
        path = path.substr(0, slash);
    }
    target.mount = std::string(path);
    return target;
}

const rtsp::TransportSpec* choose_transport(const std::vector<rtsp::TransportSpec>& specs) {
    for (const auto& spec : specs) {
        if (!spec.is_rtp() || spec.is_multicast()) continue;
        if (spec.is_tcp()) return &spec;
        if (spec.is_udp() && spec.client_port) return &spec;
    }
    return nullptr;
}

}  // namespace

ProxyConnection::ProxyConnection(asio::ip::tcp::socket socket,
                                 std::shared_ptr<const ProxyConnectionContext> context)
    : RtspServerConnection(std::move(socket), k_max_queued_bytes, context->session_timeout),
      context_(std::move(context)) {}

void ProxyConnection::on_close(std::string_view reason) {
    for (auto& [id, session] : sessions_)
        session->stop(reason);
    sessions_.clear();
    retired_.clear();
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
}

void ProxyConnection::append_players(std::vector<PlayerSnapshot>& out, Clock::time_point now) const {
    for (const auto& [id, session] : sessions_)
        out.push_back(session->snapshot(now));
}

bool ProxyConnection::end_player(const std::string& id) {
    const auto it = sessions_.find(id);
    if (it == sessions_.end()) return false;
    const auto session = it->second;  // close_after_flush() empties sessions_
    session->end_from_mount("ended by operator");
    return true;
}

bool ProxyConnection::send_interleaved(std::uint8_t channel, std::span<const std::uint8_t> frame) {
    return queue_interleaved(channel, Bytes(frame.data(), frame.size()));
}

std::size_t ProxyConnection::expire_sessions(Clock::time_point now, Clock::duration timeout) {
    return server::expire_idle_sessions(sessions_, now, timeout, [this](PlayerSession& session) {
        session.stop("timeout");
        note_activity();
    });
}

void ProxyConnection::on_interleaved() {
    for (auto& [id, session] : sessions_)
        session->touch();
}

std::optional<rtsp::Response> ProxyConnection::authenticate(const rtsp::Request& request) {
    const auto& auth = *context_->auth;
    const auto now = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch()).count());
    auto check = auth.verify(request.headers.get("Authorization"), request.method, request.uri, now);
    // A connection that authenticated already goes on with correct credentials over an expired nonce:
    // players reuse their nonce for hours of keep-alives, and a replay would need this very TCP
    // connection. A new connection needs a fresh nonce.
    if (check.verdict == rtsp::DigestVerdict::ok ||
        (check.verdict == rtsp::DigestVerdict::stale && !user_.empty() && check.user == user_)) {
        user_ = std::move(check.user);
        return std::nullopt;
    }
    if (check.verdict == rtsp::DigestVerdict::refused) {
        if (context_->auth_failures != nullptr) context_->auth_failures->inc();
        // Peer-triggered (password guessing): rate-limited. The claimed name is untrusted input: bounded.
        static net::RateLimitedLog auth_failure_log("rtsp proxy: failed Digest authentications");
        auth_failure_log.info("rtsp player {} {} {}: 401, user '{}': {}", peer(), request.method,
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
    if (context_->auth) {
        if (auto challenge = authenticate(request)) co_return std::move(*challenge);
    }
    if (method == "DESCRIBE") {
        auto describing = handle_describe(request);
        co_return co_await std::move(describing);
    }
    if (method == "SETUP") {
        auto setting_up = handle_setup(request);
        co_return co_await std::move(setting_up);
    }
    if (method == "PLAY" || method == "PAUSE" || method == "TEARDOWN" || method == "GET_PARAMETER" ||
        method == "SET_PARAMETER")
        co_return handle_session_request(request);
    auto response = status_reply(501);
    response.headers.set("Public", k_public);
    co_return response;
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
    const auto* spec = choose_transport(*specs);
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

    rtsp::TransportSpec answer;
    answer.delivery = rtsp::Delivery::unicast;
    PlayerTrack transport;
    if (chosen.is_tcp()) {
        const auto channels = chosen.interleaved.value_or(rtsp::ChannelRange{
            static_cast<std::uint8_t>(2 * track), static_cast<std::uint8_t>(2 * track + 1)});
        transport.tcp = true;
        transport.rtp_channel = channels.first;
        transport.rtcp_channel =
            channels.last == channels.first ? static_cast<std::uint8_t>(channels.first + 1) : channels.last;
        answer.lower = chosen.lower;
        answer.interleaved = rtsp::ChannelRange{transport.rtp_channel, transport.rtcp_channel};
    } else {
        std::string error;
        auto pair = client::open_udp_port_pair(
            executor(), net::unmap(local_address()).is_v6() ? asio::ip::udp::v6() : asio::ip::udp::v4(),
            error);
        if (!pair) {
            static net::RateLimitedLog port_starved_log("rtsp proxy: SETUPs without a UDP port pair");
            port_starved_log.warn("rtsp player {} SETUP: {}", peer(), error);
            co_return status_reply(453);
        }
        // Media goes to the address the request came from, never to a `destination` the player names.
        const auto client = *chosen.client_port;
        const auto rtcp_port =
            client.is_single() ? static_cast<std::uint16_t>(client.first + 1) : client.last;
        transport.client_rtp = {peer_address(), client.first};
        transport.client_rtcp = {peer_address(), rtcp_port};
        answer.client_port = rtsp::PortRange{client.first, rtcp_port};
        answer.server_port = rtsp::PortRange{pair->rtp_port, static_cast<std::uint16_t>(pair->rtp_port + 1)};
        transport.udp = std::move(pair);
    }
    session->set_up(track, std::move(transport), description->clock_rates[track],
                    track < description->wait_key_frame.size() && description->wait_key_frame[track]);
    answer.ssrc = session->tracks()[track].rewriter->ssrc();
    sessions_.emplace(session->id(), session);
    auto response = status_reply(200);
    response.headers.set("Transport", rtsp::to_header_value(answer));
    response.headers.set("Session",
                         rtsp::to_header_value(rtsp::SessionHeader{
                             session->id(), static_cast<std::uint32_t>(context_->session_timeout.count())}));
    co_return response;
}

rtsp::Response ProxyConnection::handle_play(const rtsp::Request& request, PlayerSession& session) {
    session.play();
    auto response = status_reply(200);
    response.headers.set("Range", "npt=now-");
    std::vector<rtsp::RtpInfoEntry> entries;
    const std::string base = content_base(request.uri);
    const auto target = parse_target(request.uri);
    const auto now = Clock::now();
    for (std::size_t i = 0; i < session.tracks().size(); ++i) {
        const auto& track = session.tracks()[i];
        if (!track.set_up || !track.rewriter) continue;
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
        if ((method == "GET_PARAMETER" || method == "SET_PARAMETER") &&
            !request.headers.contains("Session") && request.body.empty())
            return status_reply(200);
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

}  // namespace sg::proxy
