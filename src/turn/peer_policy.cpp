#include "turn/peer_policy.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <string>

#include "common/text.hpp"

namespace sg::turn {
namespace {

bool prefix_match(const std::uint8_t* a, const std::uint8_t* b, unsigned bits) noexcept {
    const unsigned whole = bits / 8;
    if (!std::equal(a, a + whole, b)) return false;
    const unsigned rest = bits % 8;
    if (rest == 0) return true;
    const auto mask = static_cast<std::uint8_t>(0xFF << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

// ::ffff:a.b.c.d becomes a.b.c.d, so the IPv4 rules see it.
stun::Address unmapped(const stun::Address& a) noexcept {
    static constexpr std::array<std::uint8_t, 12> k_mapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    if (a.family != stun::Family::ipv6 || !std::equal(k_mapped.begin(), k_mapped.end(), a.ip.begin()))
        return a;
    stun::Address v4;
    v4.family = stun::Family::ipv4;
    std::copy(a.ip.begin() + 12, a.ip.end(), v4.ip.begin());
    v4.port = a.port;
    return v4;
}

bool always_denied(const stun::Address& a, bool allow_loopback) noexcept {
    const auto& ip = a.ip;
    if (a.family == stun::Family::ipv4) {
        if (ip[0] == 0) return true;                    // 0.0.0.0/8: "this network"
        if (ip[0] == 127) return !allow_loopback;       // loopback
        if (ip[0] == 169 && ip[1] == 254) return true;  // link-local
        if (ip[0] >= 224) return true;                  // multicast, reserved, broadcast
        return false;
    }
    const bool zero_head = std::all_of(ip.begin(), ip.begin() + 15, [](std::uint8_t b) { return b == 0; });
    if (zero_head && ip[15] == 0) return true;                 // ::
    if (zero_head && ip[15] == 1) return !allow_loopback;      // ::1
    if (ip[0] == 0xFE && (ip[1] & 0xC0) == 0x80) return true;  // fe80::/10 link-local
    if (ip[0] == 0xFF) return true;                            // multicast
    return false;
}

}  // namespace

Result<PeerRange> PeerRange::parse(std::string_view text) {
    const auto slash = text.find('/');
    const std::string host(text.substr(0, slash));
    PeerRange range;
    if (inet_pton(AF_INET, host.c_str(), range.network.ip.data()) == 1) {
        range.network.family = stun::Family::ipv4;
    } else if (inet_pton(AF_INET6, host.c_str(), range.network.ip.data()) == 1) {
        range.network.family = stun::Family::ipv6;
    } else {
        return fail("not an IPv4 or IPv6 address");
    }
    const unsigned max_prefix = range.network.family == stun::Family::ipv4 ? 32 : 128;
    range.prefix = max_prefix;
    if (slash != std::string_view::npos) {
        const auto prefix = parse_uint<unsigned>(text.substr(slash + 1));
        if (!prefix || *prefix > max_prefix) return fail("bad prefix length");
        range.prefix = *prefix;
    }
    stun::Address masked_check = range.network;
    for (unsigned bit = range.prefix; bit < max_prefix; ++bit)
        if ((masked_check.ip[bit / 8] & (0x80 >> (bit % 8))) != 0)
            return fail("host bits set below the prefix");
    return range;
}

bool PeerRange::contains(const stun::Address& a) const noexcept {
    const stun::Address peer = unmapped(a);
    if (peer.family != network.family) return false;
    return prefix_match(peer.ip.data(), network.ip.data(), prefix);
}

bool PeerPolicy::allowed(const stun::Address& peer) const noexcept {
    const stun::Address a = unmapped(peer);
    if (always_denied(a, allow_loopback)) return false;
    return std::none_of(denied.begin(), denied.end(), [&a](const PeerRange& r) { return r.contains(a); });
}

}  // namespace sg::turn
