#include "relay/latch.hpp"

#include "relay/address.hpp"

namespace sg::relay {
namespace {

// How far ahead a rebinding peer's sequence number may be: a few hundred milliseconds of audio lost while
// its NAT moved. Further is a different stream that happens to reuse the SSRC.
constexpr std::uint16_t k_rebind_sequence_window = 64;

bool continues(const StreamId& last, const StreamId& now) noexcept {
    if (last.ssrc != now.ssrc) return false;
    if (!last.sequence || !now.sequence) return true;  // RTCP has no sequence number: the SSRC must do
    const auto ahead = static_cast<std::uint16_t>(*now.sequence - *last.sequence);
    return ahead >= 1 && ahead <= k_rebind_sequence_window;
}

}  // namespace

std::optional<StreamId> peek_stream_id(Bytes packet) noexcept {
    if (packet.size() < 8 || (packet[0] >> 6U) != 2) return std::nullopt;
    const std::uint8_t type = packet[1];
    if (type >= 192 && type <= 223) {  // RTCP: SSRC of the sender at bytes 4-7
        return StreamId{load_be32(packet.data() + 4), std::nullopt};
    }
    if (packet.size() < 12) return std::nullopt;
    return StreamId{load_be32(packet.data() + 8), load_be16(packet.data() + 2)};
}

void Latch::announce(std::optional<Address> announced, const LatchPolicy& policy) {
    if (announced && is_unspecified_ip(*announced)) announced.reset();
    if (announced != announced_ || !(policy == policy_)) {
        latched_.reset();
        last_.reset();
    }
    announced_ = announced;
    policy_ = policy;
}

bool Latch::same_host(const Address& a, const Address& b) const noexcept {
    return a.family == b.family && a.bytes == b.bytes;
}

LatchVerdict Latch::on_packet(const Address& source, std::optional<StreamId> id) noexcept {
    if (policy_.asymmetric) return LatchVerdict::pass;
    if (latched_ && *latched_ == source) {
        if (id) last_ = id;
        return LatchVerdict::pass;
    }
    if (latched_) {
        if (!id || !last_ || !continues(*last_, *id)) return LatchVerdict::foreign;
        latched_ = source;
        last_ = id;
        return LatchVerdict::latched;
    }
    if (policy_.strict_source) {
        const auto& expected = policy_.expected_host ? policy_.expected_host : announced_;
        if (!expected || !same_host(*expected, source)) return LatchVerdict::foreign;
    }
    latched_ = source;
    last_ = id;
    return LatchVerdict::latched;
}

std::optional<Address> Latch::destination() const noexcept {
    if (policy_.asymmetric) return announced_;
    return latched_ ? latched_ : announced_;
}

}  // namespace sg::relay
