#pragma once
// Decodes one captured frame down to its UDP or TCP payload: link layers (Ethernet with 802.1Q/802.1ad
// tags, Linux cooked SLL and SLL2, raw IP, BSD loopback), IPv4 (options) and IPv6 (extension headers).
// IP fragments are not reassembled: they are reported as such so the caller counts them.
//
// Pure code for the detector's per-packet path: no allocation, no exceptions, every length checked once
// and every field read explicitly.

#include <array>
#include <cstdint>
#include <string>

#include "common/byte_io.hpp"

namespace sg::detect {

// Link types as libpcap's pcap_datalink() reports them (DLT_*), plus the LINKTYPE_* numbers that a few
// of them have in files, so frames can be fed straight from a pcap or pcapng file.
namespace dlt {
inline constexpr int null = 0;    // BSD loopback, host-order address family
inline constexpr int en10mb = 1;  // Ethernet
inline constexpr int raw = 12;    // raw IPv4/IPv6 (Linux, most BSDs)
inline constexpr int raw_openbsd = 14;
inline constexpr int linktype_raw = 101;
inline constexpr int loop = 108;  // OpenBSD loopback, network-order address family
inline constexpr int linux_sll = 113;
inline constexpr int ipv4 = 228;
inline constexpr int ipv6 = 229;
inline constexpr int linux_sll2 = 276;
}  // namespace dlt

bool is_supported_link_type(int link_type) noexcept;

// An IPv4 address occupies the first 4 octets (the rest are zero), so equal addresses compare equal.
struct IpAddress {
    std::array<std::uint8_t, 16> bytes{};
    std::uint8_t family = 4;  // 4 or 6

    friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

std::string to_string(const IpAddress& address);

inline constexpr std::uint8_t k_ip_proto_tcp = 6;
inline constexpr std::uint8_t k_ip_proto_udp = 17;

inline constexpr std::uint8_t k_tcp_fin = 0x01;
inline constexpr std::uint8_t k_tcp_syn = 0x02;
inline constexpr std::uint8_t k_tcp_rst = 0x04;

struct DecodedPacket {
    IpAddress src;
    IpAddress dst;
    std::uint16_t src_port = 0;
    std::uint16_t dst_port = 0;
    std::uint8_t protocol = 0;  // k_ip_proto_udp or k_ip_proto_tcp
    std::uint32_t tcp_seq = 0;
    std::uint8_t tcp_flags = 0;
    Bytes payload;  // the UDP or TCP payload, a view into the frame
};

enum class DecodeStatus : std::uint8_t {
    ok,
    not_ip,           // ARP, LLDP, an unknown link type...
    other_transport,  // IP but neither UDP nor TCP (ICMP, SCTP, ESP...)
    fragment,         // an IPv4 or IPv6 fragment: not reassembled, counted
    truncated,        // the capture holds less than the headers announce (snap length)
    malformed,        // a header that cannot be valid
};

const char* to_string(DecodeStatus status) noexcept;

DecodeStatus decode_frame(int link_type, Bytes frame, DecodedPacket& out) noexcept;

}  // namespace sg::detect
