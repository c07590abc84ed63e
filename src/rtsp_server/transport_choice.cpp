#include "rtsp_server/transport_choice.hpp"

#include "rtsp_server/request_helpers.hpp"

namespace sg::server {

bool is_served_multicast(const rtsp::TransportSpec& spec) noexcept {
    // RTP/AVP only, like unicast: we neither protect (SAVP) nor answer feedback (AVPF).
    return spec.is_multicast() && spec.is_rtp() && spec.profile == "AVP" && spec.is_udp();
}

const rtsp::TransportSpec* choose_transport(const std::vector<rtsp::TransportSpec>& specs,
                                            bool multicast_enabled) {
    const auto* unicast = choose_unicast_transport(specs);
    for (const auto& spec : specs) {
        if (&spec == unicast) return unicast;
        if (multicast_enabled && is_served_multicast(spec)) return &spec;
    }
    return nullptr;
}

rtsp::TransportSpec multicast_answer(const asio::ip::address& group, std::uint16_t rtp_port, std::uint8_t ttl,
                                     std::uint32_t ssrc) {
    rtsp::TransportSpec answer;
    answer.delivery = rtsp::Delivery::multicast;
    answer.destination = group.to_string();
    answer.port = rtsp::PortRange{rtp_port, static_cast<std::uint16_t>(rtp_port + 1)};
    answer.ttl = ttl;
    answer.ssrc = ssrc;
    return answer;
}

}  // namespace sg::server
