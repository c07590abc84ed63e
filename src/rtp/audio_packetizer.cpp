#include "rtp/audio_packetizer.hpp"

#include <algorithm>

namespace sg::rtp {

Result<std::size_t> packetize_opus(Bytes packet, PayloadList& out, std::size_t max_payload) {
    out.clear();
    if (packet.empty()) return fail("opus: empty packet");
    if (packet.size() > max_payload) return fail("opus: packet larger than the payload limit");
    out.begin();
    out.append(packet);
    out.finish(true);
    return out.size();
}

Result<std::size_t> packetize_g711(Bytes samples, std::size_t channels, PayloadList& out,
                                   std::size_t max_samples) {
    out.clear();
    if (channels == 0 || max_samples == 0) return fail("g711: no channels");
    if (samples.empty() || samples.size() % channels != 0) return fail("g711: partial sample time");
    const std::size_t piece = max_samples * channels;
    std::size_t sent = 0;
    while (sent < samples.size()) {
        const std::size_t n = std::min(piece, samples.size() - sent);
        out.begin();
        out.append(samples.subspan(sent, n));
        // The marker flags the start of a talkspurt (RFC 3551 §4.1); a file has none after the first.
        out.finish(false, static_cast<std::uint32_t>(sent / channels));
        sent += n;
    }
    return out.size();
}

}  // namespace sg::rtp
