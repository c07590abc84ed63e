#include "relay/packet_headers.hpp"

namespace sg::relay {
namespace {

constexpr std::uint8_t k_udp = 17;

std::uint32_t sum16(Bytes bytes, std::uint32_t sum = 0) {
    for (std::size_t i = 0; i + 1 < bytes.size(); i += 2)
        sum += load_be16(bytes.data() + i);
    if (bytes.size() % 2 != 0) sum += static_cast<std::uint32_t>(bytes.back()) << 8U;
    return sum;
}

std::uint16_t fold(std::uint32_t sum) {
    while ((sum >> 16U) != 0)
        sum = (sum & 0xffffU) + (sum >> 16U);
    return static_cast<std::uint16_t>(~sum & 0xffffU);
}

}  // namespace

bool append_ip_udp_headers(std::vector<std::uint8_t>& out, const Address& from, const Address& to,
                           Bytes payload) {
    if (from.family != to.family || from.family == Family::unspecified) return false;
    const bool v6 = from.family == Family::ip6;
    const std::size_t address_size = v6 ? 16 : 4;
    const std::size_t udp_length = 8 + payload.size();
    if (udp_length > 0xffff || (!v6 && udp_length + 20 > 0xffff)) return false;

    // The UDP checksum covers a pseudo header of both addresses, the protocol and the UDP length.
    std::uint32_t sum = sum16(Bytes(from.bytes.data(), address_size));
    sum = sum16(Bytes(to.bytes.data(), address_size), sum);
    sum += k_udp + static_cast<std::uint32_t>(udp_length);
    sum += from.port + to.port + static_cast<std::uint32_t>(udp_length);
    sum = sum16(payload, sum);
    std::uint16_t udp_checksum = fold(sum);
    if (udp_checksum == 0) udp_checksum = 0xffff;  // RFC 768: 0 means "no checksum"

    ByteWriter w(out);
    if (v6) {
        w.put_u32(0x60000000U);  // version 6, no traffic class, no flow label
        w.put_u16(static_cast<std::uint16_t>(udp_length));
        w.put_u8(k_udp);
        w.put_u8(64);  // hop limit
    } else {
        const std::size_t header_start = out.size();
        w.put_u8(0x45);  // version 4, 20-byte header
        w.put_u8(0);
        w.put_u16(static_cast<std::uint16_t>(20 + udp_length));
        w.put_u32(0x00004000U);  // identification 0, don't fragment
        w.put_u8(64);            // TTL
        w.put_u8(k_udp);
        w.put_u16(0);  // checksum, filled in below
        out.insert(out.end(), from.bytes.begin(), from.bytes.begin() + 4);
        out.insert(out.end(), to.bytes.begin(), to.bytes.begin() + 4);
        const std::uint16_t ip_checksum = fold(sum16(Bytes(out.data() + header_start, 20)));
        out[header_start + 10] = static_cast<std::uint8_t>(ip_checksum >> 8U);
        out[header_start + 11] = static_cast<std::uint8_t>(ip_checksum);
    }
    if (v6) {
        out.insert(out.end(), from.bytes.begin(), from.bytes.end());
        out.insert(out.end(), to.bytes.begin(), to.bytes.end());
    }
    w.put_u16(from.port);
    w.put_u16(to.port);
    w.put_u16(static_cast<std::uint16_t>(udp_length));
    w.put_u16(udp_checksum);
    return true;
}

}  // namespace sg::relay
