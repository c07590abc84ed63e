#pragma once
// The client's half of RTSP exchanges, without I/O: building requests (CSeq, Session, User-Agent,
// Authorization), answering 401 challenges with the URL's credentials (Basic or Digest, RFC 2617), and the
// Transport header a player offers for UDP or interleaved TCP delivery (RFC 2326 §12.39).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "rtsp/auth.hpp"
#include "rtsp/message.hpp"
#include "rtsp/session_header.hpp"
#include "rtsp/transport.hpp"

namespace sg::client {

inline constexpr std::string_view k_user_agent = "streamgate-testplayer";

// Remembers how to authorize once a server asked: Digest credentials are recomputed for every request
// (the digest covers method and URI) with an increasing nonce count.
class Authenticator {
public:
    Authenticator() = default;
    Authenticator(std::string user, std::string password)
        : user_(std::move(user)), password_(std::move(password)) {}

    bool has_credentials() const noexcept { return !user_.empty(); }
    // Takes the challenge of a 401 reply. False when there are no credentials or no usable challenge.
    bool on_unauthorized(const rtsp::Response& reply);
    // The Authorization value for this request, or nothing before any challenge.
    std::optional<std::string> authorization(std::string_view method, std::string_view uri);

private:
    std::string user_;
    std::string password_;
    enum class Scheme : std::uint8_t { none, basic, digest } scheme_ = Scheme::none;
    rtsp::DigestChallenge digest_;
    std::uint32_t nonce_count_ = 0;
};

// A request with CSeq, User-Agent, the session id (when there is one) and `extra` headers.
rtsp::Request make_request(std::string_view method, std::string_view uri, std::uint32_t cseq,
                           std::string_view session_id, const rtsp::Headers& extra = {});

// "RTP/AVP;unicast;client_port=P-P+1" and "RTP/AVP/TCP;unicast;interleaved=C-C+1".
std::string udp_transport(std::uint16_t rtp_port);
std::string tcp_transport(std::uint8_t rtp_channel);

// The server's choice from a SETUP reply: exactly one spec, of the lower transport that was offered.
Result<rtsp::TransportSpec> accepted_transport(const rtsp::Response& setup_reply, bool tcp);

// The Session header of a reply: id and timeout (RFC 2326 §12.37).
Result<rtsp::SessionHeader> reply_session(const rtsp::Response& reply);

}  // namespace sg::client
