#include "client/exchange.hpp"

#include <cstdio>
#include <random>

#include "common/text.hpp"
#include "rtsp/session_header.hpp"
#include "rtsp/simple_headers.hpp"

namespace sg::client {

bool Authenticator::on_unauthorized(const rtsp::Response& reply) {
    if (!has_credentials()) return false;
    // Prefer Digest: it never sends the password.
    for (const auto& value : reply.headers.get_all("WWW-Authenticate")) {
        if (auto digest = rtsp::find_digest_challenge(value)) {
            digest_ = std::move(*digest);
            nonce_count_ = 0;
            scheme_ = Scheme::digest;
            return true;
        }
    }
    for (const auto& value : reply.headers.get_all("WWW-Authenticate")) {
        if (istarts_with(trim(value), "basic")) {
            scheme_ = Scheme::basic;
            return true;
        }
    }
    return false;
}

std::optional<std::string> Authenticator::authorization(std::string_view method, std::string_view uri) {
    switch (scheme_) {
        case Scheme::none:
            return std::nullopt;
        case Scheme::basic:
            return rtsp::to_header_value(rtsp::BasicCredentials{user_, password_});
        case Scheme::digest: {
            // The client nonce only has to be unpredictable to the server; a per-process generator will do.
            static thread_local std::mt19937_64 random{std::random_device{}()};
            char cnonce[17];
            std::snprintf(cnonce, sizeof cnonce, "%016llx", static_cast<unsigned long long>(random()));
            rtsp::DigestClientInput input;
            input.username = user_;
            input.password = password_;
            input.method = method;
            input.uri = uri;
            input.cnonce = cnonce;
            input.nc = ++nonce_count_;
            auto credentials = rtsp::make_digest_credentials(digest_, input);
            if (!credentials) return std::nullopt;
            return rtsp::to_header_value(*credentials);
        }
    }
    return std::nullopt;
}

rtsp::Request make_request(std::string_view method, std::string_view uri, std::uint32_t cseq,
                           std::string_view session_id, const rtsp::Headers& extra) {
    rtsp::Request request;
    request.method = std::string(method);
    request.uri = std::string(uri);
    request.headers.add("CSeq", rtsp::format_cseq(cseq));
    request.headers.add("User-Agent", k_user_agent);
    if (!session_id.empty()) request.headers.add("Session", session_id);
    for (const auto& field : extra)
        request.headers.add(field.name, field.value);
    return request;
}

std::string udp_transport(std::uint16_t rtp_port) {
    rtsp::TransportSpec spec;
    spec.delivery = rtsp::Delivery::unicast;
    spec.client_port = rtsp::PortRange{rtp_port, static_cast<std::uint16_t>(rtp_port + 1)};
    return rtsp::to_header_value(spec);
}

std::string tcp_transport(std::uint8_t rtp_channel) {
    rtsp::TransportSpec spec;
    spec.lower = "TCP";
    spec.delivery = rtsp::Delivery::unicast;
    spec.interleaved = rtsp::ChannelRange{rtp_channel, static_cast<std::uint8_t>(rtp_channel + 1)};
    return rtsp::to_header_value(spec);
}

Result<rtsp::TransportSpec> accepted_transport(const rtsp::Response& setup_reply, bool tcp) {
    const auto* value = setup_reply.headers.get("Transport");
    if (value == nullptr) return fail("SETUP reply without Transport");
    auto specs = rtsp::parse_transport(*value);
    if (!specs || specs->size() != 1) return fail("SETUP reply Transport does not parse");
    auto& spec = specs->front();
    if (tcp && (!spec.is_tcp() || !spec.interleaved)) return fail("SETUP reply Transport is not interleaved");
    if (!tcp && !spec.is_udp()) return fail("SETUP reply Transport is not UDP");
    return std::move(spec);
}

Result<rtsp::SessionHeader> reply_session(const rtsp::Response& reply) {
    const auto* value = reply.headers.get("Session");
    if (value == nullptr) return fail("reply without Session");
    return rtsp::parse_session(*value);
}

}  // namespace sg::client
