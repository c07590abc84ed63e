#pragma once
// The RTSP Session header value (RFC 2326 §12.37, RFC 7826 §18.49): `session-id [";timeout=" delta-seconds]`.
//
// Session ids are opaque to us but end up echoed in every request, so they are held to a strict
// alphabet: visible ASCII except the separators that would change the header's structure
// (';' ',' '"' '\'), and no spaces or control characters.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace sg::rtsp {

// RFC 2326 §12.37: the timeout a client assumes when the server does not state one.
inline constexpr std::uint32_t k_default_session_timeout = 60;
inline constexpr std::size_t k_max_session_id_length = 512;

struct SessionHeader {
    std::string id;
    std::optional<std::uint32_t> timeout;  // seconds

    std::uint32_t timeout_or_default() const noexcept { return timeout.value_or(k_default_session_timeout); }

    friend bool operator==(const SessionHeader&, const SessionHeader&) = default;
};

bool is_valid_session_id(std::string_view id) noexcept;

// Unknown parameters after the id (`name[=value]`, RFC 7826 generic-param) are validated and ignored.
Result<SessionHeader> parse_session(std::string_view value);
std::string to_header_value(const SessionHeader& session);

}  // namespace sg::rtsp
