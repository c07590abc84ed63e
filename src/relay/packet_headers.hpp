#pragma once
// IPv4/IPv6 + UDP headers for a relayed datagram, so a recording (pcap, link type RAW) shows each packet as
// it travelled: from the UA's address to the relay's port. Checksums are filled in (IPv4 header and UDP), so
// tshark shows no checksum errors.

#include <cstdint>
#include <vector>

#include "common/byte_io.hpp"
#include "relay/request.hpp"

namespace sg::relay {

// Appends the IP and UDP headers for a `payload_size`-byte datagram from `from` to `to` (same family) to
// `out`; the payload itself follows in the caller's buffer. False, appending nothing, for mixed or unknown
// families or a payload too long for one datagram.
bool append_ip_udp_headers(std::vector<std::uint8_t>& out, const Address& from, const Address& to,
                           Bytes payload);

}  // namespace sg::relay
