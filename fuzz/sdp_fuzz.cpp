// libFuzzer target for the SDP codec: parse, then check the round trip parse(to_string(x)) == x and
// that to_string is a fixed point; exercise every typed helper and check that rewritten descriptions
// still round-trip.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sdp/sdp.hpp"
#include "sdp/sdp_attributes.hpp"
#include "sdp/sdp_rewrite.hpp"

namespace {

using namespace sg::sdp;

// parse(to_string(sd)) must give sd back, and writing that again must give the same text.
void check_round_trip(const SessionDescription& sd) {
    const std::string text = to_string(sd);
    const auto again = parse(text);
    if (!again.ok() || *again != sd) __builtin_trap();
    if (to_string(*again) != text) __builtin_trap();
}

void exercise_attributes(const std::vector<Attribute>& attributes) {
    for (const auto& a : attributes) {
        if (!a.value) continue;
        if (const auto map = parse_rtpmap(*a.value)) {
            if (map->payload_type > 127 || map->encoding.empty()) __builtin_trap();
        }
        if (const auto fmtp = parse_fmtp(*a.value)) {
            if (fmtp->parameters.size() > k_max_fmtp_parameters) __builtin_trap();
            for (const auto& p : fmtp->parameters) {
                const auto found = fmtp_parameter(*fmtp, p.name);
                if (!found) __builtin_trap();
            }
        }
    }
}

void exercise_helpers(const SessionDescription& sd) {
    (void)control_url(sd);
    (void)range_value(sd);
    exercise_attributes(sd.attributes);
    for (const auto& m : sd.media) {
        (void)media_kind(m);
        (void)control_url(m);
        (void)range_value(m);
        (void)find_attribute(m.attributes, "rtpmap");
        exercise_attributes(m.attributes);
        for (const std::uint8_t pt : payload_types(m)) {
            if (pt > 127) __builtin_trap();
            const auto map = find_rtpmap(m, pt);
            if (map && map->payload_type != pt) __builtin_trap();
            const auto fmtp = find_fmtp(m, pt);
            if (fmtp && fmtp->payload_type != pt) __builtin_trap();
        }
    }
}

void exercise_rewrites(SessionDescription sd) {
    if (!rewrite_addresses(sd, "2001:db8::1", "IP6")) __builtin_trap();
    if (sd.origin.address != "2001:db8::1") __builtin_trap();
    for (const auto& m : sd.media) {
        for (const auto& c : m.connections) {
            if (c.address != "2001:db8::1" || c.ttl || c.count) __builtin_trap();
        }
    }
    if (!sd.media.empty() && !set_media_port(sd, sd.media.size() - 1, 5004)) __builtin_trap();
    (void)rewrite_control_urls(sd, [](std::string_view url) { return "rtsp://gw/" + std::string(url); });
    check_round_trip(sd);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto sd = parse(text);
    if (!sd.ok()) {
        if (sd.error().empty()) __builtin_trap();
        return 0;
    }
    // to_string writes CRLF and may add "s= ", and the rewrites lengthen lines, so a document right at
    // the size or line limit can grow past it; up to 8 KiB (at most ~2700 lines) nothing can.
    if (size <= 8 * 1024) {
        check_round_trip(*sd);
        exercise_rewrites(*sd);
    }
    exercise_helpers(*sd);
    return 0;
}
