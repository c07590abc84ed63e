#include "gateway_api/gateway_json.hpp"

namespace sg::gateway_api {

using nlohmann::json;

namespace {

json text_or_null(const std::string& text) {
    return text.empty() ? json(nullptr) : json(text);
}

}  // namespace

double seconds(std::chrono::steady_clock::duration d) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
    return static_cast<double>(ms) / 1000.0;
}

json session_json(const socks::SessionSnapshot& s) {
    return json{{"id", s.id},
                {"client", s.client},
                {"user", s.user == "-" ? json(nullptr) : json(s.user)},
                {"command", s.command},
                {"target", s.target},
                {"resolved", s.resolved == "-" ? json(nullptr) : json(s.resolved)},
                {"bytes_up", s.bytes_up},
                {"bytes_down", s.bytes_down},
                {"age_s", seconds(s.age)}};
}

json mount_json(const proxy::MountSnapshot& m) {
    return json{{"name", m.name},
                {"url", m.url},
                {"transport", m.transport},
                {"always_on", m.always_on},
                {"state", m.state},
                {"upstream_transport", text_or_null(m.upstream_transport)},
                {"players", m.players},
                {"bitrate_bps", m.bitrate_bps},
                {"last_error", text_or_null(m.last_error)},
                {"publisher", text_or_null(m.publisher)}};
}

json player_json(const proxy::PlayerSnapshot& p) {
    return json{{"id", p.id},
                {"mount", p.mount},
                {"client", p.client},
                {"user", text_or_null(p.user)},
                {"transport", p.transport},
                {"playing", p.playing},
                {"packets", p.packets},
                {"bytes", p.bytes},
                {"dropped", p.dropped},
                {"age_s", seconds(p.age)}};
}

json alg_relay_json(const alg::MediaRelaySnapshot& r) {
    const auto& c = r.counters;
    return json{{"session_id", text_or_null(r.session_id)},
                {"client", r.client},
                {"origin", r.origin},
                {"client_facing_port", r.client_facing_port},
                {"origin_facing_port", r.origin_facing_port},
                {"packets_to_client", {{"rtp", c.packets_to_client[0]}, {"rtcp", c.packets_to_client[1]}}},
                {"packets_to_origin", {{"rtp", c.packets_to_origin[0]}, {"rtcp", c.packets_to_origin[1]}}},
                {"bytes_to_client", c.bytes_to_client},
                {"bytes_to_origin", c.bytes_to_origin},
                {"dropped", c.dropped},
                {"age_s", seconds(r.age)},
                {"idle_s", seconds(r.idle)}};
}

}  // namespace sg::gateway_api
