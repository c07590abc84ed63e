#pragma once
// The WebSocket opening handshake (RFC 6455 section 4) for RTSP over WebSocket (ONVIF Streaming
// Specification section 5.1.1.5): an HTTP/1.1 GET with `Upgrade: websocket`, answered
// `101 Switching Protocols` with the `Sec-WebSocket-Accept` digest and the subprotocol `rtsp.onvif.org`,
// after which the connection carries WebSocket frames (websocket/codec.hpp). The server's half (section
// 4.2) and the client's (section 4.1). Pure code: no I/O, no exceptions.

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/parse.hpp"
#include "common/result.hpp"
#include "http/http_request.hpp"

namespace sg::websocket {

// The subprotocol ONVIF names for RTSP (and its interleaved media) carried in WebSocket messages.
inline constexpr std::string_view k_rtsp_subprotocol = "rtsp.onvif.org";

// Whether an HTTP request asks to become a WebSocket (its Upgrade field names `websocket`); such a request
// is a handshake, whether or not it is a valid one.
bool is_upgrade(const http::Request& request) noexcept;

struct Upgrade {
    std::string path;    // the request target's path, for logs
    std::string key;     // Sec-WebSocket-Key
    std::string origin;  // Origin ("" when absent: not a browser)
    bool has_origin = false;
    bool offers_rtsp = false;  // Sec-WebSocket-Protocol lists rtsp.onvif.org
};

// Parsed<Upgrade> plus the HTTP status a refusal carries: 400 (a field missing or malformed; a
// subprotocol list without rtsp.onvif.org), 405 (not GET), 426 (a Sec-WebSocket-Version other than 13).
struct [[nodiscard]] ParsedUpgrade : Parsed<Upgrade> {
    int error_status = 400;
};

// Checks a request is_upgrade() said yes to (RFC 6455 section 4.2.1).
ParsedUpgrade parse_upgrade(const http::Request& request);

// base64(SHA-1(key + the RFC's GUID)), the Sec-WebSocket-Accept value (RFC 6455 section 4.2.2).
std::string accept_value(std::string_view key);

// `HTTP/1.1 101 Switching Protocols` accepting `upgrade`, naming rtsp.onvif.org when the client offered it.
std::string accept_reply(const Upgrade& upgrade);

// A complete refusal with `Connection: close`; a 426 names the version we speak (section 4.4).
std::string refusal_reply(int status);

// Whether a handshake with this Origin may proceed. Browsers always send Origin, so a page of any web site
// could otherwise make a browser on a trusted network read streams (cross-site WebSocket hijacking):
// an Origin must be listed in `allowed` (compared without regard to case; "*" admits every origin).
// Clients that are not browsers send none, and are admitted: the listener's ACL governs them.
bool origin_allowed(const Upgrade& upgrade, std::span<const std::string> allowed) noexcept;

// An entry of such a list as configured: "*", "null" (pages of opaque origins) or "scheme://host[:port]" in
// printable ASCII without spaces or a path; anything else fails with what is wanted.
Result<std::string> parse_origin_entry(std::string_view entry);

// ---- the client's half ----

// A fresh Sec-WebSocket-Key: 16 bytes from OpenSSL's RAND_bytes, base64 (section 4.1 wants a random nonce).
std::string make_key();

// The handshake GET of `path` on `host` (the Host field: "host:port", an IPv6 address in brackets),
// offering rtsp.onvif.org.
std::string client_request(std::string_view path, std::string_view host, std::string_view key);

// Checks the server's answer head (up to and including its empty line) to a handshake with `key`: 101,
// `Upgrade: websocket`, `Connection: upgrade`, the accept value of `key`, no subprotocol but
// rtsp.onvif.org. Nothing when it is good, else why not (static text).
std::optional<std::string_view> check_reply(std::string_view head, std::string_view key);

}  // namespace sg::websocket
