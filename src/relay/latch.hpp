#pragma once
// Latching (symmetric RTP, RFC 4961's practice for NAT traversal): the address a UA announces in SDP is its
// private one when it sits behind a NAT, so the relay learns where media really comes from and sends the
// other side's media back there. One Latch per component (RTP or RTCP) of one side of one stream.
//
// Rules, in the terms of rtpengine's flags:
// - not yet latched: the first packet latches, from any host; with strict-source only from the expected
//   host (the SDP's address, or the SIP message's source with SIP-source-address);
// - latched: packets from the latched address pass; any other source is dropped and counted (no media
//   injection), except a NAT rebinding: the same SSRC continuing (next sequence numbers) from a new
//   address moves the latch there;
// - asymmetric: never latch; accept any source, send to the announced address;
// - a new announced address (re-INVITE with new ports) forgets the latch; the same one keeps it.

#include <cstdint>
#include <optional>

#include "common/byte_io.hpp"
#include "relay/request.hpp"

namespace sg::relay {

struct LatchPolicy {
    bool asymmetric = false;
    bool strict_source = false;
    std::optional<Address> expected_host;  // port ignored; unset = the announced address's host
    bool operator==(const LatchPolicy&) const = default;
};

// What identifies an RTP or RTCP stream in a packet: the SSRC, and for RTP its sequence number.
struct StreamId {
    std::uint32_t ssrc = 0;
    std::optional<std::uint16_t> sequence;
};
// Reads the SSRC (and RTP sequence number) of an RTP or RTCP packet; nullopt when it is neither (wrong
// version, too short). RTCP is told apart by its packet type (RFC 5761 §4: 192-223 is RTCP).
std::optional<StreamId> peek_stream_id(Bytes packet) noexcept;

enum class LatchVerdict {
    pass,     // forward it
    latched,  // forward it; the latch moved here (first packet or a NAT rebinding)
    foreign,  // drop it: not from where this side's media comes from
};

class Latch {
public:
    // The address from SDP or the rtpproxy command (nullopt or 0.0.0.0: on hold, nowhere to send).
    void announce(std::optional<Address> announced, const LatchPolicy& policy);

    LatchVerdict on_packet(const Address& source, std::optional<StreamId> id) noexcept;

    // Where the other side's media for this component goes: the latched address, else the announced one.
    std::optional<Address> destination() const noexcept;
    const std::optional<Address>& latched() const noexcept { return latched_; }
    const std::optional<Address>& announced() const noexcept { return announced_; }
    bool asymmetric() const noexcept { return policy_.asymmetric; }
    // The kernel forwards this component's packets from now on, so the last sequence number seen here goes
    // stale: a rebinding is then recognised by its SSRC alone (the kernel reports no sequence numbers).
    void forget_sequence() noexcept {
        if (last_) last_->sequence.reset();
    }

private:
    bool same_host(const Address& a, const Address& b) const noexcept;

    std::optional<Address> announced_;
    LatchPolicy policy_;
    std::optional<Address> latched_;
    std::optional<StreamId> last_;
};

}  // namespace sg::relay
