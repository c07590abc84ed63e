#include "alg/transport_rewrite.hpp"

#include <string>
#include <utility>
#include <vector>

namespace sg::alg {
namespace {

bool is_udp_unicast_rtp(const rtsp::TransportSpec& spec) noexcept {
    return spec.is_rtp() && spec.is_udp() && !spec.is_multicast() && !spec.interleaved;
}

rtsp::PortRange pair_from(std::uint16_t rtp_port) noexcept {
    return rtsp::PortRange{rtp_port, static_cast<std::uint16_t>(rtp_port + 1)};
}

// RFC 7826 dest_addr/src_addr: one address per port of the pair, in the order RTP, RTCP.
// The rewrite adds parameters (source, server_port...), so a value near the parser's limits (parameters per
// spec, length) can come out past them: such a value would be refused by whoever reads it next, so it is
// refused here and the caller forwards the original.
Result<std::string> checked_value(const std::vector<rtsp::TransportSpec>& specs) {
    std::string value = rtsp::to_header_value(specs);
    if (!rtsp::parse_transport(value)) return fail("rewritten Transport exceeds the parser's limits");
    return value;
}

std::vector<rtsp::TransportAddress> addresses_for(std::string_view host, rtsp::PortRange ports) {
    std::vector<rtsp::TransportAddress> out;
    out.push_back(rtsp::TransportAddress{std::string(host), ports.first});
    if (!ports.is_single()) out.push_back(rtsp::TransportAddress{std::string(host), ports.last});
    return out;
}

}  // namespace

bool is_relayable(const rtsp::TransportSpec& spec) noexcept {
    return is_udp_unicast_rtp(spec) && spec.client_port.has_value();
}

Result<rtsp::PortRange> relayable_client_ports(std::string_view request_transport) {
    auto specs = rtsp::parse_transport(request_transport);
    if (!specs) return fail("unparsable Transport");
    for (const auto& spec : *specs) {
        if (is_relayable(spec)) return *spec.client_port;
    }
    return fail("no unicast UDP transport");
}

Result<std::string> rewrite_setup_request(std::string_view request_transport, std::uint16_t rtp_port,
                                          std::string_view gateway_host) {
    auto specs = rtsp::parse_transport(request_transport);
    if (!specs) return fail("unparsable Transport");
    bool any = false;
    const auto ports = pair_from(rtp_port);
    for (auto& spec : *specs) {
        if (!is_relayable(spec)) continue;
        any = true;
        spec.client_port = ports;
        if (spec.destination) spec.destination = std::string(gateway_host);
        if (!spec.dest_addr.empty()) spec.dest_addr = addresses_for(gateway_host, ports);
    }
    if (!any) return fail("no unicast UDP transport");
    return checked_value(*specs);
}

Result<ReplyRewrite> rewrite_setup_reply(std::string_view reply_transport, rtsp::PortRange client_ports,
                                         std::uint16_t rtp_port, std::string_view gateway_host,
                                         std::string_view client_host) {
    auto specs = rtsp::parse_transport(reply_transport);
    if (!specs) return fail("unparsable Transport");
    // A reply carries the one transport the server chose; should a server list more, the first UDP one is
    // the one described by server_port.
    for (auto& spec : *specs) {
        if (!is_udp_unicast_rtp(spec)) continue;
        ReplyRewrite out;
        out.origin.server_ports = spec.server_port;
        out.origin.source = spec.source;
        if (!spec.src_addr.empty() && !spec.src_addr.front().host.empty() && !out.origin.source) {
            out.origin.source = spec.src_addr.front().host;
        }
        if (!out.origin.server_ports && !spec.src_addr.empty() && spec.src_addr.front().port) {
            const std::uint16_t first = *spec.src_addr.front().port;
            const std::uint16_t last =
                spec.src_addr.size() > 1 && spec.src_addr[1].port ? *spec.src_addr[1].port : first;
            out.origin.server_ports = rtsp::PortRange{first, last};
        }
        const auto ports = pair_from(rtp_port);
        spec.client_port = client_ports;
        spec.server_port = ports;
        spec.source = std::string(gateway_host);
        if (spec.destination) spec.destination = std::string(client_host);
        if (!spec.src_addr.empty()) spec.src_addr = addresses_for(gateway_host, ports);
        if (!spec.dest_addr.empty()) spec.dest_addr = addresses_for(client_host, client_ports);
        auto value = checked_value(*specs);
        if (!value) return fail(value.error());
        out.transport = std::move(*value);
        return out;
    }
    return fail("no unicast UDP transport");
}

}  // namespace sg::alg
