#pragma once
// The MSSR session handshake (the seed's SR_CONNECT / SR_LISTEN): an RTCP compound of an empty RR and an APP
// "MSSR" packet, subtype 1 (HELLO, from the connecting side), 2 (HELLO-ACK, the listener's answer) or 3
// (HELLO-CONFIRM: a connecting receiver's answer to the HELLO-ACK, which times the listening sender's first
// round trip). Each carries its end's view of the session; the receiver adopts the sender's MSS and stream
// policies:
//
//   version (8, now 2: the 12-octet data header and reduced-size feedback) | role (8) | MSS (16)
//   stream count (8) | features (8) | key parity group (8) | reserved (8, zero)
//   per stream: latency ms (16) | retransmit mode (8) | late policy (8)

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "common/byte_io.hpp"
#include "common/result.hpp"
#include "mssr/sequence.hpp"
#include "mssr/stream_policy.hpp"

namespace sg::mssr {

inline constexpr std::uint8_t k_hello_subtype = 1;
inline constexpr std::uint8_t k_hello_ack_subtype = 2;
inline constexpr std::uint8_t k_hello_confirm_subtype = 3;
inline constexpr std::size_t k_max_session_streams = 16;  // the data header's stream field has 4 bits
// A stream's latency budget at most: the data header's 16-bit ADU time tells apart 32.7 s either side of the
// sender's clock, and a fragment must stay inside that for as long as it can still be delivered.
inline constexpr std::int64_t k_max_latency_ms = 30000;

enum class Role : std::uint8_t { sender = 0, receiver = 1 };
// The APP subtype of each handshake message. A peer built before HELLO-CONFIRM ignores one (it is no
// feedback and no HELLO to it).
enum class HelloKind : std::uint8_t {
    hello = k_hello_subtype,
    ack = k_hello_ack_subtype,
    confirm = k_hello_confirm_subtype,
};

// Feature bits: what this end understands beyond version 2's base. A peer whose hello lacks a bit is not
// sent what it names; unknown bits are ignored. (These octets were reserved and zero before, so an older
// peer announces nothing.)
inline constexpr std::uint8_t k_feature_parity = 0x01;  // parity fragments (FragmentHeader::parity)
// several parity fragments per key ADU, in groups of the sender's Hello::key_parity_group (fragmenter.hpp)
inline constexpr std::uint8_t k_feature_parity_groups = 0x02;
// those parity fragments in the Cauchy code (fragmenter.hpp, parity_code): from a receiver, that it takes it;
// from a sender, that it uses it when the receiver does
inline constexpr std::uint8_t k_feature_cauchy_parity = 0x04;
// data headers of version 3 (wire.hpp, k_version_parity_count), which carry each protected ADU's parity
// count: from a receiver, that it reads them; from a sender, that it sends them when the receiver does
inline constexpr std::uint8_t k_feature_parity_count = 0x08;

struct Hello {
    HelloKind kind = HelloKind::hello;
    std::uint32_t ssrc = 0;
    Role role = Role::sender;
    std::uint16_t mss = k_default_mss;
    std::uint8_t features = 0;  // k_feature_* bits: what a receiver takes; a sender's, what it would use
    // Sender: the data fragments per parity group of a protected key ADU (SenderConfig::key_parity_group)
    // when the receiver announces k_feature_parity_groups; 0: one parity fragment per ADU. A receiver's is 0.
    std::uint8_t key_parity_group = 0;
    std::vector<StreamPolicy> streams;  // at most k_max_session_streams; latency in whole ms up to 30,000
    friend bool operator==(const Hello&, const Hello&) = default;
};

// Appends the compound (RR + APP). Fails on too many streams, a latency beyond k_max_latency_ms, or an MSS
// below the minimum.
Result<std::size_t> append_hello(std::vector<std::uint8_t>& out, const Hello& hello);
// Finds and decodes a HELLO, HELLO-ACK or HELLO-CONFIRM in an RTCP datagram.
Result<Hello> parse_hello_datagram(Bytes datagram) noexcept;

// Times the connecting side's HELLO / HELLO-ACK exchange, or the listening side's HELLO-ACK / HELLO-CONFIRM
// one: the sender's first RTT sample, as TCP times its SYN / SYN-ACK, or a listener its SYN-ACK / ACK (RFC
// 6298 §2.2 and §3). The hellos carry no nonce, so by Karn's rule only an exchange with exactly one message
// sent can be matched: once one was repeated, the answer may answer either, and there is no exact sample.
class HandshakeTimer {
public:
    void on_hello_sent(TimePoint now) noexcept {
        if (hellos_sent_++ == 0) first_sent_ = now;
        last_sent_ = now;
    }
    // The round trip when the ACK arriving at `now` answers the one HELLO sent; nullopt otherwise.
    std::optional<std::chrono::microseconds> on_ack(TimePoint now) const noexcept;
    // The time since the last HELLO: the round trip when the ACK answers it, less when it answers an earlier
    // one, so never more than the path's. A HELLO repeats only when one or its ACK was lost, and then the ACK
    // usually answers the last. nullopt before any HELLO.
    std::optional<std::chrono::microseconds> round_trip_floor(TimePoint now) const noexcept;
    std::uint32_t hellos_sent() const noexcept { return hellos_sent_; }

private:
    TimePoint first_sent_{};
    TimePoint last_sent_{};
    std::uint32_t hellos_sent_ = 0;
};

}  // namespace sg::mssr
