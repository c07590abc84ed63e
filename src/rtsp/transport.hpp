#pragma once
// The RTSP Transport header value (RFC 2326 §12.39, with the RFC 7826 §18.54 additions): a comma-separated
// list of transport specs, e.g.
//   RTP/AVP;multicast;ttl=127;mode="PLAY",RTP/AVP;unicast;client_port=3456-3457;mode="PLAY"
//   RTP/AVP/TCP;unicast;interleaved=0-1;ssrc=1B2C3D4E;mode="PLAY"
//   RTP/AVP;unicast;dest_addr="192.0.2.5:3456"/"192.0.2.5:3457";src_addr="[2001:db8::1]:6970"
//
// The parameters a gateway reads or rewrites are typed; every other parameter (setup=, connection=,
// RTCP-mux, MIKEY=, vendor extensions...) is kept verbatim and in order in `extensions`, so a parsed spec
// formats back to an equivalent header. Known parameters are written in a fixed order (delivery,
// destination, source, interleaved, append, ttl, layers, port, client_port, server_port, ssrc, mode,
// dest_addr, src_addr), then the extensions in their original order. Parameter names are matched
// case-insensitively; duplicated known parameters are rejected, so what the gateway rewrites is exactly
// what the peer would have used.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace sg::rtsp {

// port [ "-" port ]; a single port is stored as first == last (and formatted as one number).
struct PortRange {
    std::uint16_t first = 0;
    std::uint16_t last = 0;

    bool is_single() const noexcept { return first == last; }

    friend bool operator==(const PortRange&, const PortRange&) = default;
};

// interleaved=channel [ "-" channel ] (RFC 2326 §10.12: channel is 0..255); single: first == last.
struct ChannelRange {
    std::uint8_t first = 0;
    std::uint8_t last = 0;

    friend bool operator==(const ChannelRange&, const ChannelRange&) = default;
};

// One RFC 7826 dest_addr/src_addr element: host [":" port] or ":" port. IPv6 hosts are stored without
// their brackets (the formatter adds them back).
struct TransportAddress {
    std::string host;  // may be empty when a port is given
    std::optional<std::uint16_t> port;

    friend bool operator==(const TransportAddress&, const TransportAddress&) = default;
};

// A parameter the typed fields do not cover: name as written, value verbatim (quotes included).
struct TransportParam {
    std::string name;
    std::optional<std::string> value;

    friend bool operator==(const TransportParam&, const TransportParam&) = default;
};

enum class Delivery : std::uint8_t { unspecified, unicast, multicast };

struct TransportSpec {
    // transport-id "protocol/profile[/lower]", case preserved (e.g. RTP / AVP / TCP, RTP / SAVPF).
    std::string protocol = "RTP";
    std::string profile = "AVP";
    std::string lower;  // empty when absent

    Delivery delivery = Delivery::unspecified;
    // Bare "destination" (RFC 2326: the client's own address) is an empty string.
    std::optional<std::string> destination;
    std::optional<std::string> source;
    std::optional<ChannelRange> interleaved;
    bool append = false;
    std::optional<std::uint8_t> ttl;
    std::optional<std::uint32_t> layers;
    std::optional<PortRange> port;  // multicast
    std::optional<PortRange> client_port;
    std::optional<PortRange> server_port;
    std::optional<std::uint32_t> ssrc;        // the first SSRC
    std::vector<std::uint32_t> more_ssrcs;    // RFC 7826 "ssrc=a/b/c": the SSRCs after the first
    std::vector<std::string> modes;           // e.g. {"PLAY"}; empty when no mode parameter
    bool mode_quoted = true;                  // mode="PLAY" rather than mode=PLAY
    std::vector<TransportAddress> dest_addr;  // RFC 7826
    std::vector<TransportAddress> src_addr;   // RFC 7826
    std::vector<TransportParam> extensions;

    bool is_rtp() const noexcept;
    bool is_tcp() const noexcept;  // lower transport TCP (interleaved over the RTSP connection)
    bool is_udp() const noexcept;  // lower transport UDP, the default when it is absent
    bool is_multicast() const noexcept { return delivery == Delivery::multicast; }
    // The first extension parameter with this name (case-insensitive), or nullptr.
    const TransportParam* find_extension(std::string_view name) const noexcept;

    friend bool operator==(const TransportSpec&, const TransportSpec&) = default;
};

inline constexpr std::size_t k_max_transport_specs = 16;
inline constexpr std::size_t k_max_transport_params = 32;  // per spec
inline constexpr std::size_t k_max_transport_addresses = 16;
inline constexpr std::size_t k_max_transport_ssrcs = 16;
inline constexpr std::size_t k_max_transport_modes = 8;
inline constexpr std::size_t k_max_transport_length = 8192;

Result<std::vector<TransportSpec>> parse_transport(std::string_view value);
Result<TransportSpec> parse_transport_spec(std::string_view spec);

std::string to_header_value(const TransportSpec& spec);
std::string to_header_value(std::span<const TransportSpec> specs);  // joined with ","

}  // namespace sg::rtsp
