// libFuzzer target for the media relay's SDP handling: any SDP the parser accepts is described and rewritten
// to relay addresses; the result must parse again, describe the same sections, and name only the relay's
// address and ports in every section that was relayed.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "relay/address.hpp"
#include "relay/relay_sdp.hpp"
#include "sdp/sdp.hpp"

namespace {

using namespace sg;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const bool replace_origin = (data[0] & 1U) != 0;
    const bool mux = (data[0] & 2U) != 0;
    const bool v6 = (data[0] & 4U) != 0;
    const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
    auto sd = sdp::parse(text);
    if (!sd) return 0;
    const auto media = relay::describe_media(*sd);
    if (!media) return 0;
    if (media->size() != sd->media.size()) __builtin_trap();

    const auto relay_ip = relay::parse_ip(v6 ? "2001:db8::1" : "203.0.113.1");
    std::vector<std::optional<relay::RelayPorts>> ports;
    for (std::size_t i = 0; i < media->size(); ++i) {
        if ((*media)[i].rejected) {
            ports.emplace_back();
            continue;
        }
        relay::Address local = *relay_ip;
        local.port = static_cast<std::uint16_t>(30000 + 2 * i);
        // The call table offers rtcp-mux on only to a side whose peer offered it (a=rtcp-mux present).
        ports.push_back(relay::RelayPorts{local, mux && (*media)[i].rtcp_mux});
    }
    relay::RewriteOptions options;
    options.replace_origin = replace_origin;
    const auto rewritten = relay::rewrite_for_relay(*sd, ports, options);
    if (!rewritten) return 0;  // nothing relayed (every section rejected)

    const std::string out = sdp::to_string(*sd);
    const auto again = sdp::parse(out);
    if (!again) __builtin_trap();
    const auto described = relay::describe_media(*again);
    if (!described || described->size() != ports.size()) __builtin_trap();
    for (std::size_t i = 0; i < ports.size(); ++i) {
        if (!ports[i]) continue;
        const auto& d = (*described)[i];
        if (!d.rtp || d.rtp->family != ports[i]->rtp.family || d.rtp->bytes != ports[i]->rtp.bytes)
            __builtin_trap();
        if (d.rtp->port != ports[i]->rtp.port) __builtin_trap();
        if (ports[i]->rtcp_mux != d.rtcp_mux) __builtin_trap();
        if (d.rtcp && (d.rtcp->bytes != ports[i]->rtp.bytes || d.rtcp->port != ports[i]->rtp.port + 1))
            __builtin_trap();
    }
    const auto is_candidate = [](const sdp::Attribute& a) { return a.name == "candidate"; };
    if (std::any_of(again->attributes.begin(), again->attributes.end(), is_candidate)) __builtin_trap();
    for (const auto& section : again->media)
        if (std::any_of(section.attributes.begin(), section.attributes.end(), is_candidate)) __builtin_trap();
    return 0;
}
