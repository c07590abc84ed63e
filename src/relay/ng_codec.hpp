#pragma once
// rtpengine's ng control protocol (docs/relay.md, "Control protocols"): a datagram is
// "<cookie> <bencoded dictionary>", the reply carries the same cookie. decode_ng turns a request into a
// protocol-independent Request; encode_ng writes an Outcome back as the reply dictionary.
//
// Key and flag spellings: rtpengine accepts spaces and hyphens interchangeably ("address family" and
// "address-family", "SIP source address" and "SIP-source-address"); Kamailio's rtpengine module sends the
// hyphenated forms, rtpengine's documentation uses spaces. We compare keys and flags after turning spaces
// into hyphens, case-insensitively.
//
// Tags (request.hpp): an "answer" names the offerer in from-tag and the answerer in to-tag (Kamailio swaps
// the SIP From/To tags when the answer travels in a request, so this holds on the wire), hence
//   offer:  speaker = from-tag, peer = to-tag
//   answer: speaker = to-tag,   peer = from-tag
//   every other command: speaker = from-tag, peer = to-tag (the participant it selects, and the other).

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/parse.hpp"
#include "common/result.hpp"
#include "relay/request.hpp"

namespace sg::relay {

inline constexpr std::size_t k_ng_max_cookie = 128;                       // Kamailio's COOKIE_SIZE
inline constexpr std::size_t k_ng_max_datagram = std::size_t{64} * 1024;  // one UDP payload
inline constexpr std::size_t k_ng_max_ignored = 32;  // ignored flags/keys reported per request

struct NgRequest {
    Request request;
    // Flags, keys and values we understood syntactically but do not act on ("loop-protect", "SDES",
    // "ICE=force-relay"...). Never an error: the I/O side logs each new one once and may put them into the
    // reply's warning. At most k_ng_max_ignored entries.
    std::vector<std::string> ignored;
};

struct NgDecoded {
    // Empty when the datagram has no cookie (or an unusable one): nothing can be answered, drop it.
    std::string cookie;
    // The request, or why the body was refused; with a cookie, answer the error with encode_ng_error.
    Result<NgRequest> request = fail("ng: empty datagram");

    bool can_reply() const noexcept { return !cookie.empty(); }
};

NgDecoded decode_ng(std::string_view datagram);

// ng over TCP (rtpengine's --listen-tcp-ng) has no framing of its own: a message is "<cookie> " and one
// bencoded dictionary, and the next message follows. Given the bytes received so far, says where the first
// message is: need_more (a valid prefix), done with `consumed` bytes (line breaks between messages are
// skipped and counted) and the message at [skip, skip + length), or error (close the connection: the
// stream cannot be resynchronised). Bounded like a datagram: a message longer than k_ng_max_datagram is an
// error as soon as that many bytes are buffered.
struct NgFrame {
    std::size_t skip = 0;
    std::size_t length = 0;
};
Parsed<NgFrame> frame_ng_stream(std::string_view buffer);

// "<cookie> d6:result5:error12:error-reason<n>:<reason>e": no other keys, as rtpengine's docs require.
std::string encode_ng_error(std::string_view cookie, std::string_view reason);

// The reply to a decoded request of kind `op`: result ok (pong for ping) with the keys rtpengine writes for
// that command (sdp, query's call report, list's calls, statistics), or the error form when outcome.error
// is set. Warnings are joined into one "warning" string.
std::string encode_ng(std::string_view cookie, Op op, const Outcome& outcome);

// The ng command name for `op` ("offer", "start recording"...); empty for the rtpproxy-only ops.
std::string_view ng_command_name(Op op);

}  // namespace sg::relay
