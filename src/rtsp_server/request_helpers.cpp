#include "rtsp_server/request_helpers.hpp"

#include <array>
#include <cstdio>
#include <random>

namespace sg::server {

std::string new_session_id() {
    static thread_local std::mt19937_64 generator{std::random_device{}()};
    std::array<char, 17> text{};
    std::snprintf(text.data(), text.size(), "%016llx",  // NOLINT(cppcoreguidelines-pro-type-vararg)
                  static_cast<unsigned long long>(generator()));
    return text.data();
}

bool is_session_method(std::string_view method) noexcept {
    return method == "PLAY" || method == "PAUSE" || method == "TEARDOWN" || method == "GET_PARAMETER" ||
           method == "SET_PARAMETER";
}

bool is_sessionless_keepalive(const rtsp::Request& request) {
    return (request.method == "GET_PARAMETER" || request.method == "SET_PARAMETER") &&
           !request.headers.contains("Session") && request.body.empty();
}

std::string content_base(std::string_view uri) {
    std::string base(uri.substr(0, uri.find('?')));
    if (base.empty() || base.back() != '/') base += '/';
    return base;
}

const rtsp::TransportSpec* choose_unicast_transport(const std::vector<rtsp::TransportSpec>& specs) {
    for (const auto& spec : specs) {
        // RTP/AVP only: we neither protect (SAVP) nor answer feedback (AVPF) in what we send.
        if (!spec.is_rtp() || spec.profile != "AVP" || spec.is_multicast()) continue;
        if (spec.is_tcp()) return &spec;
        if (spec.is_udp() && spec.client_port) return &spec;
    }
    return nullptr;
}

}  // namespace sg::server
