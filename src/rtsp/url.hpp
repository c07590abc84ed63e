#pragma once
// rtsp:// URLs: parsing, printing and resolving control URLs against a base.
//   RFC 2326 section 3.2 (rtsp, rtspu URLs; default port 554), RFC 7826 section 4.2 (rtsps, default 322),
//   RFC 3986 section 3.2 (authority, userinfo, IPv6 literals), 5.2 (reference resolution),
//   RFC 6874 (IPv6 zone identifiers, "%25" in a URL). "rtspt" is the de-facto RTSP-over-TCP scheme.
// Pure code: no I/O, no exceptions.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace sg::rtsp {

inline constexpr std::size_t k_max_url_length = 4096;
inline constexpr std::uint16_t k_default_port = 554;
inline constexpr std::uint16_t k_default_tls_port = 322;

struct Url {
    std::string scheme;    // lower case: "rtsp", "rtsps", "rtspu" or "rtspt"
    std::string user;      // percent-decoded
    std::string password;  // percent-decoded
    // Host name, IPv4 address, or IPv6 address without brackets; an IPv6 zone id follows a single '%'
    // ("fe80::1%eth0"), the form getaddrinfo() accepts.
    std::string host;
    std::optional<std::uint16_t> port;
    // Everything after the authority, as sent (not decoded): "/live/cam?x=1"; "" when the URL ends at the
    // authority.
    std::string path;

    bool is_ipv6() const noexcept { return host.find(':') != std::string::npos; }
    bool is_tls() const noexcept { return scheme == "rtsps"; }
    std::uint16_t default_port() const noexcept { return is_tls() ? k_default_tls_port : k_default_port; }
    std::uint16_t effective_port() const noexcept { return port.value_or(default_port()); }

    bool operator==(const Url&) const = default;
};

// Parses an absolute rtsp/rtsps/rtspu/rtspt URL (scheme case-insensitive), at most k_max_url_length bytes.
// Unencoded '@' in the password is tolerated (IP cameras are often configured that way): the authority's
// last '@' ends the userinfo.
Result<Url> parse_url(std::string_view text);

// Absolute URL; userinfo (percent-encoded) only when asked, so logs and Request-URIs do not leak it.
std::string to_string(const Url& url, bool with_userinfo = false);

// host[:port] with brackets around IPv6 literals (no userinfo).
std::string authority(const Url& url);

// RFC 3986 section 5.2 resolution of a control URL (SDP a=control, Content-Base) against `base`:
// an absolute reference is returned as is; "" and "*" mean the base itself (aggregate control);
// "/x" replaces the base's path; a relative path replaces the base's last segment, so a base ending
// in '/' ("rtsp://h/live/" + "trackID=1") keeps its whole path. Returns "" when `base` is not an
// absolute URL or the result would exceed k_max_url_length.
std::string resolve_reference(std::string_view base, std::string_view ref);

}  // namespace sg::rtsp
