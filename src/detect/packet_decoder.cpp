#include "detect/packet_decoder.hpp"

#include <cstdio>

namespace sg::detect {
namespace {

constexpr std::uint16_t k_ethertype_ipv4 = 0x0800;
constexpr std::uint16_t k_ethertype_ipv6 = 0x86dd;
constexpr std::uint16_t k_ethertype_vlan = 0x8100;
constexpr std::uint16_t k_ethertype_qinq = 0x88a8;
constexpr std::uint16_t k_ethertype_qinq_old = 0x9100;
constexpr int k_max_vlan_tags = 4;
constexpr int k_max_ipv6_extensions = 8;

DecodeStatus decode_transport(std::uint8_t protocol, Bytes data, DecodedPacket& out) noexcept {
    ByteReader r(data);
    out.protocol = protocol;
    if (protocol == k_ip_proto_udp) {
        std::uint16_t length = 0;
        std::uint16_t checksum = 0;
        if (!r.read_u16(out.src_port) || !r.read_u16(out.dst_port) || !r.read_u16(length) ||
            !r.read_u16(checksum))
            return DecodeStatus::truncated;
        if (length < 8) return DecodeStatus::malformed;
        if (length - 8u > r.remaining()) return DecodeStatus::truncated;
        out.payload = r.rest().first(length - 8u);
        return DecodeStatus::ok;
    }
    if (protocol == k_ip_proto_tcp) {
        std::uint32_t ack = 0;
        std::uint8_t offset = 0;
        if (!r.read_u16(out.src_port) || !r.read_u16(out.dst_port) || !r.read_u32(out.tcp_seq) ||
            !r.read_u32(ack) || !r.read_u8(offset) || !r.read_u8(out.tcp_flags))
            return DecodeStatus::truncated;
        const std::size_t header = static_cast<std::size_t>(offset >> 4) * 4;
        if (header < 20) return DecodeStatus::malformed;
        if (header > data.size()) return DecodeStatus::truncated;
        out.payload = data.subspan(header);
        return DecodeStatus::ok;
    }
    return DecodeStatus::other_transport;
}

DecodeStatus decode_ipv4(Bytes data, DecodedPacket& out) noexcept {
    ByteReader r(data);
    std::uint8_t version_ihl = 0;
    std::uint8_t tos = 0;
    std::uint16_t total = 0;
    std::uint16_t id = 0;
    std::uint16_t fragment = 0;
    std::uint8_t ttl = 0;
    std::uint8_t protocol = 0;
    std::uint16_t checksum = 0;
    Bytes src;
    Bytes dst;
    if (!r.read_u8(version_ihl) || !r.read_u8(tos) || !r.read_u16(total) || !r.read_u16(id) ||
        !r.read_u16(fragment) || !r.read_u8(ttl) || !r.read_u8(protocol) || !r.read_u16(checksum) ||
        !r.read_bytes(4, src) || !r.read_bytes(4, dst))
        return DecodeStatus::truncated;
    if ((version_ihl >> 4) != 4) return DecodeStatus::malformed;
    const std::size_t header = static_cast<std::size_t>(version_ihl & 0x0f) * 4;
    if (header < 20 || total < header) return DecodeStatus::malformed;
    // Ethernet pads short frames, so the capture may hold more than `total`; less means snap length.
    if (total > data.size()) return DecodeStatus::truncated;
    out.src = IpAddress{};
    out.dst = IpAddress{};
    for (std::size_t i = 0; i < 4; ++i) {
        out.src.bytes[i] = src[i];
        out.dst.bytes[i] = dst[i];
    }
    out.src.family = 4;
    out.dst.family = 4;
    const bool more_fragments = (fragment & 0x2000) != 0;
    const bool offset = (fragment & 0x1fff) != 0;
    if (more_fragments || offset) return DecodeStatus::fragment;
    return decode_transport(protocol, data.subspan(header, total - header), out);
}

DecodeStatus decode_ipv6(Bytes data, DecodedPacket& out) noexcept {
    ByteReader r(data);
    std::uint32_t first_word = 0;
    std::uint16_t payload_length = 0;
    std::uint8_t next = 0;
    std::uint8_t hop_limit = 0;
    Bytes src;
    Bytes dst;
    if (!r.read_u32(first_word) || !r.read_u16(payload_length) || !r.read_u8(next) || !r.read_u8(hop_limit) ||
        !r.read_bytes(16, src) || !r.read_bytes(16, dst))
        return DecodeStatus::truncated;
    if ((first_word >> 28) != 6) return DecodeStatus::malformed;
    // A jumbogram (payload length 0) is not something RTP uses; it ends up malformed below.
    if (payload_length > r.remaining()) return DecodeStatus::truncated;
    for (std::size_t i = 0; i < 16; ++i) {
        out.src.bytes[i] = src[i];
        out.dst.bytes[i] = dst[i];
    }
    out.src.family = 6;
    out.dst.family = 6;
    Bytes rest = r.rest().first(payload_length);
    for (int i = 0; i < k_max_ipv6_extensions; ++i) {
        switch (next) {
            case 0:     // hop-by-hop options
            case 43:    // routing
            case 60: {  // destination options
                if (rest.size() < 8) return DecodeStatus::truncated;
                const std::size_t length = (std::size_t{rest[1]} + 1) * 8;
                if (length > rest.size()) return DecodeStatus::truncated;
                next = rest[0];
                rest = rest.subspan(length);
                continue;
            }
            case 51: {  // authentication header: length in 4-octet units, minus 2
                if (rest.size() < 8) return DecodeStatus::truncated;
                const std::size_t length = (std::size_t{rest[1]} + 2) * 4;
                if (length > rest.size()) return DecodeStatus::truncated;
                next = rest[0];
                rest = rest.subspan(length);
                continue;
            }
            case 44: {  // fragment header: offset != 0 or M set means a fragment
                if (rest.size() < 8) return DecodeStatus::truncated;
                const std::uint16_t offset_flags = load_be16(rest.data() + 2);
                if ((offset_flags & 0xfff9u) != 0) return DecodeStatus::fragment;
                next = rest[0];  // an atomic fragment (RFC 6946) is a whole packet
                rest = rest.subspan(8);
                continue;
            }
            default:
                return decode_transport(next, rest, out);
        }
    }
    return DecodeStatus::malformed;  // more extension headers than any real packet carries
}

DecodeStatus decode_ip_by_version(Bytes data, DecodedPacket& out) noexcept {
    if (data.empty()) return DecodeStatus::truncated;
    switch (data[0] >> 4) {
        case 4:
            return decode_ipv4(data, out);
        case 6:
            return decode_ipv6(data, out);
        default:
            return DecodeStatus::not_ip;
    }
}

DecodeStatus decode_by_ethertype(std::uint16_t ethertype, Bytes data, DecodedPacket& out) noexcept {
    if (ethertype == k_ethertype_ipv4) return decode_ipv4(data, out);
    if (ethertype == k_ethertype_ipv6) return decode_ipv6(data, out);
    return DecodeStatus::not_ip;
}

DecodeStatus decode_ethernet(Bytes frame, DecodedPacket& out) noexcept {
    ByteReader r(frame);
    std::uint16_t ethertype = 0;
    if (!r.skip(12) || !r.read_u16(ethertype)) return DecodeStatus::truncated;
    for (int tags = 0;
         ethertype == k_ethertype_vlan || ethertype == k_ethertype_qinq || ethertype == k_ethertype_qinq_old;
         ++tags) {
        if (tags == k_max_vlan_tags) return DecodeStatus::malformed;
        if (!r.skip(2) || !r.read_u16(ethertype)) return DecodeStatus::truncated;
    }
    return decode_by_ethertype(ethertype, r.rest(), out);
}

// BSD loopback: a 4-octet address family, host order (DLT_NULL) or network order (DLT_LOOP). The values
// for IPv6 differ between BSDs (24, 28, 30), so both byte orders are accepted for any of them.
DecodeStatus decode_loopback(Bytes frame, DecodedPacket& out) noexcept {
    if (frame.size() < 4) return DecodeStatus::truncated;
    const std::uint32_t be = load_be32(frame.data());
    const std::uint32_t le = (std::uint32_t{frame[3]} << 24) | (std::uint32_t{frame[2]} << 16) |
                             (std::uint32_t{frame[1]} << 8) | frame[0];
    const auto is = [&](std::uint32_t family) { return be == family || le == family; };
    const Bytes rest = frame.subspan(4);
    if (is(2)) return decode_ipv4(rest, out);
    if (is(24) || is(28) || is(30)) return decode_ipv6(rest, out);
    return DecodeStatus::not_ip;
}

}  // namespace

bool is_supported_link_type(int link_type) noexcept {
    switch (link_type) {
        case dlt::null:
        case dlt::en10mb:
        case dlt::raw:
        case dlt::raw_openbsd:
        case dlt::linktype_raw:
        case dlt::loop:
        case dlt::linux_sll:
        case dlt::ipv4:
        case dlt::ipv6:
        case dlt::linux_sll2:
            return true;
        default:
            return false;
    }
}

DecodeStatus decode_frame(int link_type, Bytes frame, DecodedPacket& out) noexcept {
    switch (link_type) {
        case dlt::en10mb:
            return decode_ethernet(frame, out);
        case dlt::linux_sll:  // 16 octets, protocol type last
            if (frame.size() < 16) return DecodeStatus::truncated;
            return decode_by_ethertype(load_be16(frame.data() + 14), frame.subspan(16), out);
        case dlt::linux_sll2:  // 20 octets, protocol type first
            if (frame.size() < 20) return DecodeStatus::truncated;
            return decode_by_ethertype(load_be16(frame.data()), frame.subspan(20), out);
        case dlt::raw:
        case dlt::raw_openbsd:
        case dlt::linktype_raw:
            return decode_ip_by_version(frame, out);
        case dlt::ipv4:
            return decode_ipv4(frame, out);
        case dlt::ipv6:
            return decode_ipv6(frame, out);
        case dlt::null:
        case dlt::loop:
            return decode_loopback(frame, out);
        default:
            return DecodeStatus::not_ip;
    }
}

const char* to_string(DecodeStatus status) noexcept {
    switch (status) {
        case DecodeStatus::ok:
            return "ok";
        case DecodeStatus::not_ip:
            return "not_ip";
        case DecodeStatus::other_transport:
            return "other_transport";
        case DecodeStatus::fragment:
            return "fragment";
        case DecodeStatus::truncated:
            return "truncated";
        case DecodeStatus::malformed:
            return "malformed";
    }
    return "unknown";
}

std::string to_string(const IpAddress& address) {
    char text[48];
    if (address.family == 4) {
        std::snprintf(text, sizeof text, "%u.%u.%u.%u", address.bytes[0], address.bytes[1], address.bytes[2],
                      address.bytes[3]);
        return text;
    }
    // RFC 5952: lowercase, leading zeros dropped, the longest run (first on a tie) of two or more zero
    // groups as "::".
    std::array<unsigned, 8> groups{};
    for (std::size_t i = 0; i < 8; ++i)
        groups[i] = (unsigned{address.bytes[2 * i]} << 8) | address.bytes[2 * i + 1];
    int best_start = -1;
    int best_length = 1;
    for (int i = 0; i < 8;) {
        if (groups[static_cast<std::size_t>(i)] != 0) {
            ++i;
            continue;
        }
        int j = i;
        while (j < 8 && groups[static_cast<std::size_t>(j)] == 0)
            ++j;
        if (j - i > best_length) {
            best_start = i;
            best_length = j - i;
        }
        i = j;
    }
    std::string out;
    for (int i = 0; i < 8; ++i) {
        if (i == best_start) {
            out += "::";
            i += best_length - 1;
            continue;
        }
        if (!out.empty() && out.back() != ':') out += ':';
        std::snprintf(text, sizeof text, "%x", groups[static_cast<std::size_t>(i)]);
        out += text;
    }
    return out;
}

}  // namespace sg::detect
