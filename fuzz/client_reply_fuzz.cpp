// libFuzzer target for what the RTSP client makes of a server's reply: the DESCRIBE answer's base URL and
// SDP -> tracks, a SETUP answer's Transport and Session, and a 401's challenge -> Authorization.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include "client/exchange.hpp"
#include "client/presentation.hpp"
#include "rtsp/message.hpp"

namespace {

using namespace sg;

void check_presentation(const rtsp::Response& reply) {
    const auto base = client::base_url(reply, "rtsp://example.com:554/media");
    if (base.empty()) __builtin_trap();
    const auto p = client::parse_presentation(reply.body, base);
    if (!p.ok()) return;
    if (p->tracks.empty() || p->tracks.size() > client::k_max_tracks || p->aggregate_url.empty())
        __builtin_trap();
    for (const auto& track : p->tracks) {
        if (track.control_url.empty() || track.payload_types.empty() || track.clock_rate == 0)
            __builtin_trap();
    }
    if (p->duration_s && !(*p->duration_s > 0)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto parsed = rtsp::parse_item(Bytes(data, size));
    if (!parsed.done()) return 0;
    const auto* reply = std::get_if<rtsp::Response>(&parsed.value);
    if (reply == nullptr) return 0;
    check_presentation(*reply);
    for (const bool tcp : {false, true}) {
        if (const auto spec = client::accepted_transport(*reply, tcp); spec.ok()) {
            if (tcp ? !spec->interleaved : !spec->is_udp()) __builtin_trap();
        }
    }
    if (const auto session = client::reply_session(*reply); session.ok() && session->id.empty())
        __builtin_trap();
    client::Authenticator auth("user", "password");
    if (auth.on_unauthorized(*reply)) {
        const auto value = auth.authorization("DESCRIBE", "rtsp://example.com/media");
        if (value && value->empty()) __builtin_trap();
    }
    return 0;
}
