#pragma once
// The rendezvous protocol of `streamgate punch` (docs/nat-traversal.md): STUN-formatted messages (RFC 8489
// §5 header, attributes, FINGERPRINT) with two methods of our own, so the rendezvous can share the STUN/TURN
// server's port and a client's one socket learns its mapped address from the very message that registers it.
//
//   Register request   PUNCH-ID (who I am), PUNCH-PEER (whom I want), [PUNCH-RELAYED (my TURN address)],
//                      [PUNCH-PORT-STEP (my symmetric NAT allocates ports with this step)]
//   Register success   XOR-MAPPED-ADDRESS (you, as I see you); once the peer registered too:
//                      XOR-PEER-ADDRESS (the peer's mapped address), PUNCH-DELAY (ms until both punch),
//                      [PUNCH-RELAYED (the peer's TURN address)], [PUNCH-PORT-STEP (the peer's)]
//   Register error     ERROR-CODE 400 (bad id), 401 (no or a wrong MESSAGE-INTEGRITY-SHA256) or 508
//                      (table full)
//   Probe request      PUNCH-ID (sender), PUNCH-PEER (recipient): sent peer to peer while punching
//   Probe success      PUNCH-ID (sender of the answer), the probe's transaction ID: the path works both ways
//
// The attributes are comprehension-optional (0x8000 and up), so any STUN parser skips them. Every message
// ends with FINGERPRINT, which tells a probe from forwarded data on the direct path.
//
// With a shared secret (--rendezvous-secret) every message but an error answer also carries
// MESSAGE-INTEGRITY-SHA256 (RFC 8489 §14.6), keyed with the secret's octets as short-term credentials are
// (§9.1, without SASLprep): the rendezvous accepts only registrations signed with it, and the clients only
// answers and probes signed with it. Each builder takes the key; an empty key leaves the attribute out.

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "common/byte_io.hpp"
#include "common/result.hpp"
#include "stun/stun_message.hpp"

namespace sg::punch {

namespace method {
inline constexpr std::uint16_t register_ = 0x0C0;
inline constexpr std::uint16_t probe = 0x0C1;
}  // namespace method

namespace attr {
inline constexpr std::uint16_t id = 0xC0A1;
inline constexpr std::uint16_t peer = 0xC0A2;
inline constexpr std::uint16_t delay = 0xC0A3;      // u32, milliseconds
inline constexpr std::uint16_t relayed = 0xC0A4;    // XOR'd like XOR-PEER-ADDRESS
inline constexpr std::uint16_t port_step = 0xC0A5;  // i32 (two's complement), port_prediction.hpp
}  // namespace attr

// Names are 1..64 octets of [A-Za-z0-9._-]: they appear in logs unquoted.
inline constexpr std::size_t k_max_name_size = 64;
bool valid_name(std::string_view name) noexcept;

struct RegisterRequest {
    std::string_view id;
    std::string_view peer;
    std::optional<stun::Address> relayed;
    std::optional<int> port_step;  // 1..k_max_port_step in magnitude
};

struct RegisterAnswer {
    stun::Address mapped;
    std::optional<stun::Address> peer_mapped;
    std::uint32_t delay_ms = 0;
    std::optional<stun::Address> peer_relayed;
    std::optional<int> peer_port_step;
};

struct Probe {
    bool ack = false;  // a success response to a probe
    std::string_view id;
    std::string_view peer;  // empty in an ack
};

// Cheap test on the first two octets: a Register request (what the rendezvous server takes for itself).
bool is_register_request(Bytes datagram) noexcept;

void build_register(std::vector<std::uint8_t>& out, const stun::TransactionId& tid, const RegisterRequest& r,
                    Bytes key = {});
void build_register_answer(std::vector<std::uint8_t>& out, const stun::TransactionId& tid,
                           const RegisterAnswer& a, Bytes key = {});
// Never signed: a 401 answers a request whose key is unknown or wrong.
void build_register_error(std::vector<std::uint8_t>& out, const stun::TransactionId& tid, std::uint16_t code);
void build_probe(std::vector<std::uint8_t>& out, const stun::TransactionId& tid, std::string_view id,
                 std::string_view peer, Bytes key = {});
void build_probe_ack(std::vector<std::uint8_t>& out, const stun::TransactionId& tid, std::string_view id,
                     Bytes key = {});

// The secret as an HMAC key (its octets).
inline Bytes secret_key(std::string_view secret) noexcept {
    return Bytes(reinterpret_cast<const std::uint8_t*>(secret.data()), secret.size());
}
// True without a key (nothing to check), else only when the message's MESSAGE-INTEGRITY(-SHA256) verifies.
bool authentic(const stun::MessageView& m, Bytes key) noexcept;

// Each reader takes a parsed message and checks method, class, FINGERPRINT (required) and every attribute
// it needs; the views point into the message.
Result<RegisterRequest> read_register(const stun::MessageView& m) noexcept;
// A Register answer: success, or the error code of an error answer (Result's error names it; 401 says
// the secret was missing or wrong). The integrity is the caller's to check (authentic()).
Result<RegisterAnswer> read_register_answer(const stun::MessageView& m) noexcept;
Result<Probe> read_probe(const stun::MessageView& m) noexcept;

}  // namespace sg::punch
