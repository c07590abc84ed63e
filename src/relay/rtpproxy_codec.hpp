#pragma once
// rtpproxy's control protocol as Kamailio's `rtpproxy` module (5.6) speaks it: one command per datagram
// (UDP, with a cookie first) or per line (unix stream socket, no cookie):
//
//   [cookie] U[mods] call-id[;via-branch] addr port from-tag[;N] [to-tag[;N] [notify-socket [notify-tag]]]
//   [cookie] L[mods] call-id[;via-branch] addr port from-tag[;N] to-tag[;N]
//   [cookie] D[mods] call-id from-tag [to-tag]        Q[mods] call-id from-tag [to-tag [counters...]]
//   [cookie] R[mods] call-id from-tag [to-tag]        S[mods] call-id from-tag [to-tag]
//   [cookie] P[count][mods] call-id prompt codecs from-tag [to-tag]
//   [cookie] V      [cookie] VF <date>      [cookie] I[b]
//
// Tags: Kamailio orders them so that U's first tag is the party whose address the command carries (it
// swaps From/To for an offer in a reply), while L's first tag stays the party that created the session
// (the offerer) and the second is the answerer, whose address L carries; rtpproxy itself looks the
// session up by the first tag and, for L, updates the *other* side. Hence
//   U: speaker = first tag, peer = second tag;  L: speaker = second tag, peer = first tag;
//   D, Q, R, S, P: speaker = first tag, peer = second tag.
//
// Errors are answered "E<n>" with rtpproxy's own numbers (rtpp_command_ecodes.h).

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "relay/request.hpp"

namespace sg::relay {

// rtpproxy's ECODE_* values.
inline constexpr int k_rtpp_e_unknown_command = 0;     // ECODE_CMDUNKN
inline constexpr int k_rtpp_e_syntax = 1;              // ECODE_PARSE_NARGS: wrong number of fields
inline constexpr int k_rtpp_e_modifiers = 2;           // ECODE_PARSE_MODS: bad modifier letters
inline constexpr int k_rtpp_e_invalid_argument = 31;   // ECODE_INVLARG_1: address, port, tag index
inline constexpr int k_rtpp_e_session_not_found = 50;  // ECODE_SESUNKN (rtpproxy 1.x and rtpengine: E8)
inline constexpr int k_rtpp_e_play_failed = 60;        // ECODE_PLRFAIL
inline constexpr int k_rtpp_e_no_ports = 71;           // ECODE_LSTFAIL_1: could not open the media ports
inline constexpr int k_rtpp_e_no_memory = 81;          // ECODE_NOMEM_1
inline constexpr int k_rtpp_e_overload = 98;           // ECODE_OVERLOAD

inline constexpr std::size_t k_rtpp_max_line = 4096;
inline constexpr std::size_t k_rtpp_max_fields = 16;
inline constexpr std::size_t k_rtpp_max_cookie = 128;
inline constexpr std::size_t k_rtpp_max_ignored = 16;

// The protocol version V answers, and the capability dates VF answers 1 for: what the codec and the relay
// implement (docs/relay.md lists them with the ones we refuse).
inline constexpr std::string_view k_rtpp_version = "20040107";
bool rtpproxy_supports_feature(std::string_view date);

struct RtpproxyDecoded {
    std::string cookie;  // empty over the unix socket (no cookies there)
    // False when nothing can be answered: a UDP datagram without a usable cookie.
    bool can_reply = true;
    Result<Request> request = fail("rtpproxy: empty command");
    int error_code = k_rtpp_e_syntax;  // the E-code to answer when !request
    bool brief_info = false;           // "Ib": only the counters, no per-session lines
    // Modifiers and fields parsed but not acted on (codec lists, ptime, notify socket...), for a
    // log-once on the I/O side; at most k_rtpp_max_ignored.
    std::vector<std::string> ignored;
};

// `with_cookie`: true for UDP (the first field is the cookie), false for the unix stream socket.
RtpproxyDecoded decode_rtpproxy(std::string_view line, bool with_cookie = true);

// The reply line (with a trailing '\n'): "[cookie ]<body>". U/L: "<port> <ip>" (" 6" appended for IPv6,
// as rtpproxy writes it); V: the version; VF: 1/0; D/R/S/P: 0; Q: "<ttl> <packets from the first tag's
// side> <packets from the other side> <relayed> <dropped>"; I: rtpproxy's counter lines; error: E<n>.
std::string encode_rtpproxy(std::string_view cookie, const Request& request, const Outcome& outcome);

// A reply for a command that failed to decode.
std::string encode_rtpproxy_error(std::string_view cookie, int code);

}  // namespace sg::relay
