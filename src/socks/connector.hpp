#pragma once
// Outbound connections for CONNECT: Happy Eyeballs v2 (RFC 8305) over both address families, the operator's
// address-family policy, and the mapping from socket and resolver errors to SOCKS5 REP codes
// (RFC 1928 section 6).
//
// RFC 8305 as implemented here:
// - Section 3: a name is resolved with one query per allowed family (AAAA is issued first, or A under
//   prefer_ipv4), on Asio's resolver thread, never on the event loop. Attempts start as soon as the preferred
//   family answers; when only the other family has answered, they start after the Resolution Delay (50 ms).
//   Answers that arrive later join the list of addresses not yet tried.
// - Section 4: the families are interleaved, preferred family first (First Address Family Count 1); within
//   a family the resolver's order (RFC 6724) is kept. Duplicates are dropped.
// - Section 5: a new attempt starts every Connection Attempt Delay (250 ms) while earlier ones keep going,
//   or at once when an attempt fails. The first attempt to connect wins; the others are closed.
// - The connect timeout bounds the whole operation, resolution included.
//
// When everything fails, the REP comes from the attempt that got furthest: connection refused (the host
// itself answered) beats host unreachable (an ICMP error or a timeout: the path was there, the host was
// not) beats network unreachable (nothing left this machine) beats anything else. Resolution errors are
// used only when no address could be tried at all.
//
// A literal target is one attempt. A literal of a family the policy excludes gets REP 0x03 network
// unreachable without any attempt: to the client this gateway has no network of that family, exactly as a
// host without an IPv6 route would answer. (0x02 "not allowed by ruleset" is for the access rules.) A name
// that has no address in the allowed families gets the resolver's answer, REP 0x04 host unreachable.
// IPv4-mapped IPv6 addresses (::ffff:0:0/96) count as IPv4 and are dialled as IPv4.
//
// Assumes a single-threaded executor (the gateway runs one io_context thread): the attempts of one
// connect_to share state without locks.

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "socks5/socks5.hpp"

namespace sg::socks {

// Which address families CONNECT may use ("any" = both, IPv6 preferred, as RFC 6724 and RFC 8305 say).
enum class FamilyPolicy { any, ipv4_only, ipv6_only, prefer_ipv4 };

// "any", "ipv4-only", "ipv6-only", "prefer-ipv4": the spelling of the configuration and the command line.
std::string_view to_string(FamilyPolicy policy) noexcept;
// The inverse of to_string (exact, lower case).
sg::Result<FamilyPolicy> parse_family_policy(std::string_view text) noexcept;

struct ConnectOutcome {
    Reply reply = Reply::general_failure;
    asio::ip::tcp::socket socket;  // connected (TCP_NODELAY set) when reply == succeeded, closed otherwise
    std::string resolved;  // the address that won; on failure the one whose error decided the REP (or empty)
    std::string error;     // on failure, every resolution and attempt error, for the session log
};

// Which resolved addresses of a name target may be connected to (the access rules, evaluated again with the
// address); an empty function admits every address.
using AddressFilter = std::function<bool(const asio::ip::address&)>;

// Resolves `target` when it is a name and connects with Happy Eyeballs within `timeout` (see above). A name
// whose every address `admit` refuses gets REP 0x02 (connection not allowed by ruleset).
asio::awaitable<ConnectOutcome> connect_to(const Address& target, std::chrono::steady_clock::duration timeout,
                                           FamilyPolicy policy = FamilyPolicy::any, AddressFilter admit = {});

// RFC 1928 section 6 reply for a failed connect(2) or resolution.
Reply reply_for(const asio::error_code& ec) noexcept;

// --- The algorithm behind connect_to, with its I/O injectable (tests drive it with fake resolvers and
// connects). ------------------------------------------------------------------------------------------

enum class Family { ipv4, ipv6 };

struct HappyEyeballsTiming {
    std::chrono::steady_clock::duration resolution_delay = std::chrono::milliseconds{50};  // RFC 8305 3
    std::chrono::steady_clock::duration attempt_delay = std::chrono::milliseconds{250};    // RFC 8305 5
};

// One family's answer. Endpoints of the other family, or that the policy excludes, are ignored.
struct Resolution {
    asio::error_code error;
    std::vector<asio::ip::tcp::endpoint> endpoints;
    bool denied = false;  // there were addresses, and the access rules refused every one (REP 0x02)
};

struct Dialer {
    // Looks up one family. Called at most once per family, only for families the policy allows. It cannot
    // be cancelled (getaddrinfo cannot): at the deadline it is abandoned and its answer ignored.
    std::function<asio::awaitable<Resolution>(Family)> resolve;
    // Connects `socket` (closed, owned by the algorithm and alive until this completes) to the endpoint.
    // Must support Asio per-operation cancellation: losers and attempts still running at the deadline are
    // cancelled through it, and their sockets closed.
    std::function<asio::awaitable<asio::error_code>(asio::ip::tcp::socket&, asio::ip::tcp::endpoint)> connect;
};

// The real thing: getaddrinfo per family on Asio's resolver thread, and async_connect.
Dialer system_dialer(std::string host, std::uint16_t port);

// `dialer` whose answers keep only the addresses `admit` accepts; a family whose every address was refused
// answers Resolution::denied, and when nothing else was tried the outcome is REP 0x02.
Dialer filter_addresses(Dialer dialer, AddressFilter admit);

// At most this many addresses per family are kept: a name with hundreds of records must not cost hundreds
// of sockets.
inline constexpr std::size_t k_max_addresses_per_family = 16;

asio::awaitable<ConnectOutcome> happy_eyeballs(Dialer dialer, FamilyPolicy policy,
                                               std::chrono::steady_clock::duration timeout,
                                               HappyEyeballsTiming timing);

}  // namespace sg::socks
