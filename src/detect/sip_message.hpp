#pragma once
// Just enough SIP (RFC 3261 §7) to find session descriptions: the start line, Content-Type and
// Content-Length (with their compact forms c and l, §7.3.3) and the body. Incremental like the RTSP
// parser, so it frames a TCP byte stream as well as a UDP datagram. Pure and bounded.

#include <cstddef>
#include <string>
#include <string_view>

#include "common/parse.hpp"
#include "common/units.hpp"

namespace sg::detect {

struct SipMessage {
    bool is_request = false;
    std::string method;  // requests: INVITE, ACK, ...
    int status = 0;      // responses: 100..699
    std::string content_type;
    std::string body;
};

inline constexpr std::size_t k_max_sip_header_bytes = 16 * k_kib;
inline constexpr std::size_t k_max_sip_body = 64 * k_kib;

// True when `data` begins like a SIP message ("SIP/2.0 " or "<METHOD> sip:"/"sips:"/"tel:").
bool looks_like_sip(std::string_view data) noexcept;

// `datagram` true: a missing Content-Length means the body runs to the end (§18.3, UDP).
Parsed<SipMessage> parse_sip_message(std::string_view input, bool datagram);

}  // namespace sg::detect
