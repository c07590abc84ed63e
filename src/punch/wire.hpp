#pragma once
// The rendezvous protocol of `streamgate punch` (docs/nat-traversal.md): STUN-formatted messages (RFC 8489
// §5 header, attributes, FINGERPRINT) with two methods of our own, so the rendezvous can share the STUN/TURN
// server's port and a client's one socket learns its mapped address from the very message that registers it.
//
//   Register request   PUNCH-ID (who I am), PUNCH-PEER (whom I want), [PUNCH-RELAYED (my TURN address)]
//   Register success   XOR-MAPPED-ADDRESS (you, as I see you); once the peer registered too:
//                      XOR-PEER-ADDRESS (the peer's mapped address), PUNCH-DELAY (ms until both punch),
//                      [PUNCH-RELAYED (the peer's TURN address)]
//   Register error     ERROR-CODE 400 (bad id) or 508 (table full)
//   Probe request      PUNCH-ID (sender), PUNCH-PEER (recipient): sent peer to peer while punching
//   Probe success      PUNCH-ID (sender of the answer), the probe's transaction ID: the path works both ways
//
// The attributes are comprehension-optional (0x8000 and up), so any STUN parser skips them. Every message
// ends with FINGERPRINT, which tells a probe from forwarded data on the direct path.

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
inline constexpr std::uint16_t delay = 0xC0A3;    // u32, milliseconds
inline constexpr std::uint16_t relayed = 0xC0A4;  // XOR'd like XOR-PEER-ADDRESS
}  // namespace attr

// Names are 1..64 octets of [A-Za-z0-9._-]: they appear in logs unquoted.
inline constexpr std::size_t k_max_name_size = 64;
bool valid_name(std::string_view name) noexcept;

struct RegisterRequest {
    std::string_view id;
    std::string_view peer;
    std::optional<stun::Address> relayed;
};

struct RegisterAnswer {
    stun::Address mapped;
    std::optional<stun::Address> peer_mapped;
    std::uint32_t delay_ms = 0;
    std::optional<stun::Address> peer_relayed;
};

struct Probe {
    bool ack = false;  // a success response to a probe
    std::string_view id;
    std::string_view peer;  // empty in an ack
};

// Cheap test on the first two octets: a Register request (what the rendezvous server takes for itself).
bool is_register_request(Bytes datagram) noexcept;

void build_register(std::vector<std::uint8_t>& out, const stun::TransactionId& tid, const RegisterRequest& r);
void build_register_answer(std::vector<std::uint8_t>& out, const stun::TransactionId& tid,
                           const RegisterAnswer& a);
void build_register_error(std::vector<std::uint8_t>& out, const stun::TransactionId& tid, std::uint16_t code);
void build_probe(std::vector<std::uint8_t>& out, const stun::TransactionId& tid, std::string_view id,
                 std::string_view peer);
void build_probe_ack(std::vector<std::uint8_t>& out, const stun::TransactionId& tid, std::string_view id);

// Each reader takes a parsed message and checks method, class, FINGERPRINT (required) and every attribute
// it needs; the views point into the message.
Result<RegisterRequest> read_register(const stun::MessageView& m) noexcept;
// A Register answer: success, or the error code of an error answer (Result's error names it).
Result<RegisterAnswer> read_register_answer(const stun::MessageView& m) noexcept;
Result<Probe> read_probe(const stun::MessageView& m) noexcept;

}  // namespace sg::punch
