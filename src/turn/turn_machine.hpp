#pragma once
// The TURN server's pure half (RFC 8656 over UDP, RFC 8489 Binding and long-term credentials): allocations
// keyed by their 5-tuple, permissions, channel bindings, lifetimes, quotas and nonces, driven by the
// datagrams the I/O half receives and a clock it passes in. It answers with bytes to send back to the
// client and with "send this to that peer from this relayed address" / "deliver this to that client"
// actions. Opening and closing relayed sockets is its one question to the outside (RelayPorts), answered
// at once.
//
// Request flow (§5, RFC 8489 §9.2.4): Binding needs no credentials; one that carries them has them checked
// (short-term ones, §9.1, or long-term ones when it names a REALM) and its answer signed. Every other request
// needs MESSAGE-INTEGRITY(-SHA256) with a known user's long-term key: without it 401 (REALM, NONCE,
// PASSWORD-ALGORITHMS: MD5 and SHA-256); with a stale or foreign nonce 438; with a wrong key 401. The user
// is named by USERNAME or hidden in USERHASH; a request that picks a password algorithm must repeat the
// offered list unchanged (no downgrade), else 400. Unknown comprehension-required attributes get 420 first.
// Indications (Send) and ChannelData carry no credentials; they are accepted only on an existing
// allocation's 5-tuple and only towards peers with a live permission.

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/byte_io.hpp"
#include "stun/stun_address.hpp"
#include "stun/stun_message.hpp"
#include "turn/nonce.hpp"
#include "turn/peer_policy.hpp"

namespace sg::turn {

// A user's long-term keys, one per password algorithm a client may pick (RFC 8489 §18.5).
struct UserKeys {
    std::array<std::uint8_t, 16> md5{};     // stun::long_term_key
    std::array<std::uint8_t, 32> sha256{};  // stun::long_term_key_sha256
};
UserKeys make_user_keys(std::string_view user, std::string_view realm, std::string_view password);

// RFC 5780 NAT behaviour discovery: the server's two IPs of one family and its two ports. A Binding to any
// of the four combinations is answered with OTHER-ADDRESS (the other IP, the other port) and RESPONSE-ORIGIN,
// and its CHANGE-REQUEST picks which of the four the answer comes from.
struct DiscoveryAddresses {
    std::array<stun::Address, 2> ips;  // ports unused
    std::array<std::uint16_t, 2> ports{};
};

// Who may use the server; what SIGHUP can replace.
struct TurnCredentials {
    std::map<std::string, UserKeys, std::less<>> users;  // name -> long-term keys (make_user_keys)
    // Short-term credentials (RFC 8489 §9.1) for Binding: name -> key, the password's octets. A Binding with
    // MESSAGE-INTEGRITY and no REALM is checked against these and its answer signed; one without is
    // answered as always.
    std::map<std::string, std::vector<std::uint8_t>, std::less<>> short_term_users;
};

struct TurnOptions {
    std::string realm = "streamgate";
    TurnCredentials credentials;  // keyed for `realm`
    std::string software = "streamgate";
    std::chrono::seconds default_lifetime{600};  // RFC 8656 §3.2
    std::chrono::seconds max_lifetime{3600};
    std::chrono::seconds permission_lifetime{300};  // §9
    std::chrono::seconds channel_lifetime{600};     // §12
    std::chrono::seconds nonce_lifetime{600};
    std::chrono::seconds reservation_lifetime{30};
    // Password guessing: a client address whose requests failed authentication this many times within the
    // window gets no answer to authenticated requests until the window ends. At most max_tracked_failures
    // addresses are tracked; past that, new ones are not (an attacker with many addresses must not be able
    // to lock everyone out by filling the table).
    std::uint32_t max_auth_failures = 50;
    std::chrono::seconds auth_failure_window{60};
    std::size_t max_tracked_failures = 10000;  // §7.2: "approximately 30 seconds"
    std::size_t max_allocations = 10000;
    std::size_t max_allocations_per_user = 100;
    std::size_t max_permissions = 256;  // per allocation, channels' permissions included
    PeerPolicy peers;
    std::vector<DiscoveryAddresses> discovery;  // empty: CHANGE-REQUEST and RESPONSE-PORT are answered 420
    std::array<std::uint8_t, 32> nonce_secret{};
};

// How the client reaches the server: UDP, TCP, or TLS over TCP (RFC 8656 §3.1; "turns:" URIs, RFC 7065).
// TCP and TLS frame alike (padded ChannelData); the relayed side is always UDP.
enum class Transport : std::uint8_t { udp, tcp, tls };
std::string_view transport_name(Transport transport) noexcept;  // "udp", "tcp", "tls"

// The client's side of an allocation: its address, the listener's address it talks to, and the transport
// between them (the relayed side is always UDP).
struct FiveTuple {
    stun::Address client;
    stun::Address server;
    Transport transport = Transport::udp;
    auto operator<=>(const FiveTuple&) const = default;
    bool operator==(const FiveTuple&) const = default;
};

struct RelayRequest {
    stun::Family family = stun::Family::ipv4;
    bool even_port = false;      // EVEN-PORT
    bool reserve_next = false;   // EVEN-PORT's R bit: hold port + 1 for a later Allocate (RFC 8656 §7.2)
    bool dont_fragment = false;  // DONT-FRAGMENT: set DF on what the relayed socket sends
};

class RelayPorts {
public:
    virtual ~RelayPorts() = default;
    virtual bool supports(stun::Family family) const = 0;
    // A relayed transport address; with reserve_next, its port is even and port + 1 is held (bound, not
    // relaying) until claim() or close(). nullopt when no port (pair) is free.
    virtual std::optional<stun::Address> open(const RelayRequest& request) = 0;
    // Starts relaying on an address held by open(reserve_next); false when it is not held.
    virtual bool claim(const stun::Address& reserved) = 0;
    virtual void close(const stun::Address& relayed) = 0;
};

struct ToPeer {
    stun::Address relayed;  // send from this relayed socket
    stun::Address peer;
    Bytes data;  // a view into the datagram the client sent
};

struct ToClient {
    FiveTuple tuple;  // send from tuple.server to tuple.client
    Bytes data;       // valid until the machine's next call
};

struct ClientOutput {
    Bytes reply;  // to the sender, from the address it sent to; empty: none. Valid until the next call.
    std::optional<stun::Address> reply_from;  // RFC 5780 CHANGE-REQUEST: send the reply from this listener
    std::optional<stun::Address> reply_to;    // RFC 5780 RESPONSE-PORT: send the reply here instead
    std::optional<ToPeer> to_peer;
};

struct Traffic {
    std::uint64_t bytes = 0;
    std::uint64_t packets = 0;
};

// One finished allocation, for the log line.
struct AllocationEnd {
    std::string user;
    stun::Address client;
    stun::Address relayed;
    Traffic to_peer;
    Traffic to_client;
    std::chrono::steady_clock::duration duration{};
    std::optional<stun::Address> relayed_other;  // the second family's, of a dual allocation
    std::string_view reason;  // "refreshed to 0", "expired", "connection closed", "server stopped"
    Transport transport = Transport::udp;
};

// One running allocation as the admin API shows it.
struct AllocationInfo {
    std::string user;
    stun::Address client;
    Transport transport = Transport::udp;
    stun::Address relayed;
    std::optional<stun::Address> relayed_other;  // the second family's, of a dual allocation
    std::size_t permissions = 0;
    std::size_t channels = 0;
    Traffic to_peer;
    Traffic to_client;
    std::chrono::steady_clock::duration age{};
    std::chrono::steady_clock::duration expires_in{};
};

struct TurnStats {
    std::uint64_t bindings = 0;
    std::uint64_t allocations_created = 0;
    std::uint64_t allocations_ended = 0;
    std::uint64_t unauthorized = 0;          // 401 and 438 answers
    std::uint64_t authenticated = 0;         // requests whose credentials passed
    std::uint64_t authenticated_sha256 = 0;  // ... with the SHA-256 password algorithm (RFC 8489 §18.5.1.2)
    std::uint64_t authenticated_userhash = 0;  // ... naming the user by USERHASH
    std::uint64_t forbidden_peers = 0;         // 403 answers
    std::uint64_t quota_refused = 0;           // 486 and 508 answers
    std::uint64_t reservations = 0;
    std::uint64_t auth_throttled = 0;  // authenticated requests dropped: too many failures from the address
                                       // // ports held for a RESERVATION-TOKEN
    std::uint64_t malformed = 0;       // dropped: not STUN, bad fingerprint, bad ChannelData
    std::uint64_t dropped_no_permission = 0;
    Traffic to_peer;
    Traffic to_client;
};

class TurnMachine {
public:
    TurnMachine(TurnOptions options, RelayPorts& ports);

    ClientOutput on_client_datagram(Time now, const FiveTuple& tuple, Bytes datagram);
    std::optional<ToClient> on_peer_datagram(Time now, const stun::Address& relayed,
                                             const stun::Address& peer, Bytes datagram);
    // Ends allocations whose lifetime ran out and drops expired permissions and channels.
    void expire(Time now);
    // A TCP client's connection closed: its allocation ends with it (RFC 8656 §3.1).
    void on_connection_closed(Time now, const FiveTuple& tuple);
    // Ends every allocation (the server is stopping).
    void end_all(Time now, std::string_view reason);
    // Allocations ended since the last call (the I/O half logs them).
    std::vector<AllocationEnd> take_ended();
    // The running allocations, by client five-tuple (the admin API).
    std::vector<AllocationInfo> allocations(Time now) const;
    // Ends the allocation relaying on `relayed` (either family of a dual one) as any other end, with
    // `reason`; false when there is none.
    bool end_allocation(Time now, const stun::Address& relayed, std::string_view reason);
    // Replaces the long-term and short-term users (SIGHUP). Running allocations stay; a removed user's next
    // Refresh is refused (401), so the allocation ends when its lifetime runs out.
    void set_credentials(TurnCredentials credentials);

    std::size_t allocation_count() const noexcept { return allocations_.size(); }
    bool has_allocation(const FiveTuple& tuple) const { return allocations_.contains(tuple); }
    std::size_t reservation_count() const noexcept { return reservations_.size(); }
    const TurnStats& stats() const noexcept { return stats_; }

private:
    struct Channel {
        stun::Address peer;
        Time expires;
    };
    struct Allocation {
        FiveTuple tuple;
        std::string user;
        stun::Address relayed;
        // A dual allocation (ADDITIONAL-ADDRESS-FAMILY, RFC 8656 §7.2): the IPv6 relayed address beside the
        // IPv4 one, or the error that kept it from being made (an ADDRESS-ERROR-CODE in the answer).
        std::optional<stun::Address> relayed_other;
        std::uint16_t other_error = 0;
        stun::TransactionId allocate_tid{};
        std::uint32_t granted_lifetime = 0;
        std::optional<std::uint64_t> reservation_token;  // handed out with this allocation (EVEN-PORT R)
        Time created;
        Time expires;
        std::map<stun::Address, Time> permissions;  // peer IP (port 0) -> expiry
        std::map<std::uint16_t, Channel> channels;
        std::map<stun::Address, std::uint16_t> channel_of_peer;
        Traffic to_peer;
        Traffic to_client;
    };
    // What the authentication step found: the user and key to sign the answer with.
    struct Caller {
        std::string_view user;
        Bytes key;                 // of the password algorithm the request chose
        bool sign_sha1 = false;    // the request had MESSAGE-INTEGRITY: so has the answer
        bool sign_sha256 = false;  // the same for MESSAGE-INTEGRITY-SHA256
    };
    class Reply;

    void handle_request(Time now, const FiveTuple& tuple, const stun::MessageView& m);
    void binding(Time now, const FiveTuple& tuple, const stun::MessageView& m);
    std::optional<Caller> authenticate_short_term(Time now, const FiveTuple& tuple,
                                                  const stun::MessageView& m);
    std::optional<ToPeer> handle_send(Time now, const FiveTuple& tuple, const stun::MessageView& m);
    std::optional<ToPeer> handle_channel_data(Time now, const FiveTuple& tuple, Bytes datagram);
    std::optional<Caller> authenticate(Time now, const FiveTuple& tuple, const stun::MessageView& m);
    void allocate(Time now, const FiveTuple& tuple, const stun::MessageView& m, const Caller& caller);
    void refresh(Time now, Allocation& a, const stun::MessageView& m, const Caller& caller);
    void create_permission(Time now, Allocation& a, const stun::MessageView& m, const Caller& caller);
    void channel_bind(Time now, Allocation& a, const stun::MessageView& m, const Caller& caller);
    void reply_error(const stun::MessageView& m, std::uint16_t code, const Caller* caller);
    void end(std::map<FiveTuple, Allocation>::iterator it, Time now, std::string_view reason);
    std::uint32_t lifetime_for(const stun::MessageView& m) const;
    bool has_permission(const Allocation& a, const stun::Address& peer, Time now) const;
    // The relayed address of `family`, or nullptr when the allocation has none (443 for such peers).
    static const stun::Address* relayed_for(const Allocation& a, stun::Family family);
    void add_relayed(Reply& r, const Allocation& a);
    std::uint64_t next_token();
    bool throttled(Time now, const stun::Address& client);
    void note_auth_failure(Time now, const stun::Address& client);
    void index_user_hashes();  // user_of_hash_ from the credentials

    TurnOptions options_;
    RelayPorts& ports_;
    NonceIssuer nonces_;
    std::map<std::array<std::uint8_t, 32>, std::string> user_of_hash_;  // USERHASH -> user name
    std::map<FiveTuple, Allocation> allocations_;
    std::map<stun::Address, FiveTuple> by_relayed_;
    std::map<std::string, std::size_t, std::less<>> per_user_;
    struct Reservation {
        stun::Address relayed;
        Time expires;
    };
    std::map<std::uint64_t, Reservation> reservations_;  // RESERVATION-TOKEN -> the held port
    std::uint64_t token_state_ = 0;
    struct Failures {
        std::uint32_t count = 0;
        Time window_end;
    };
    std::map<stun::Address, Failures> auth_failures_;  // client IP (port 0) -> failed authentications
    std::vector<AllocationEnd> ended_;
    std::vector<std::uint8_t> out_;  // the bytes of the last reply or delivery
    bool sign_fingerprint_ = false;
    std::optional<stun::Address> reply_from_;
    std::optional<stun::Address> reply_to_;  // the current request carried FINGERPRINT: so does our answer
    TurnStats stats_;
};

}  // namespace sg::turn
