// libFuzzer target for what the RTSP proxy listener makes of upstream input: the DESCRIBE body turned into
// the players' SDP and the track encodings, and RTP packets checked for key frames, cached (the GOP cache)
// and rewritten per player.
// The first input byte picks the part; the rest is the input.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "restream/gop_cache.hpp"
#include "restream/key_frame.hpp"
#include "restream/mount_sdp.hpp"
#include "restream/rtp_rewriter.hpp"
#include "rtp/rtp_packet.hpp"
#include "sdp/sdp.hpp"

namespace {

using namespace sg;

void check_sdp(std::string_view text) {
    for (const bool ipv6 : {false, true}) {
        const auto out = proxy::mount_sdp(text, ipv6 ? "2001:db8::1" : "192.0.2.1", ipv6);
        if (!out.ok()) continue;
        // What players get must parse again and hold only RTP tracks.
        const auto again = sdp::parse(*out);
        if (!again.ok() || again->media.empty()) __builtin_trap();
        if (proxy::mount_track_encodings(*out).size() != again->media.size()) __builtin_trap();
    }
    (void)proxy::mount_track_encodings(text);
}

void check_rtp(const std::uint8_t* data, std::size_t size) {
    std::vector<std::uint8_t> packet(data, data + size);
    const auto before = rtp::parse_rtp(Bytes(packet));
    if (before.ok()) (void)proxy::h264_starts_key_frame(before->payload());
    (void)proxy::h264_starts_key_frame(Bytes(packet));
    (void)proxy::summarize_payload(proxy::VideoCodec::h265, Bytes(packet));
    // The GOP cache takes any packet, twice (a second slice of the same picture), and stays within its
    // limits.
    for (const auto codec : {proxy::VideoCodec::h264, proxy::VideoCodec::h265, proxy::VideoCodec::none}) {
        proxy::GopCacheLimits limits;
        limits.max_packets = 1;
        proxy::GopCache cache(codec, limits);
        cache.add(packet, std::chrono::steady_clock::time_point{});
        cache.add(packet, std::chrono::steady_clock::time_point{});
        if (cache.packets().size() > 1 || (cache.ready() && !before.ok())) __builtin_trap();
    }
    proxy::RtpRewriter rewriter({0x01020304, 65535, 0xffffff00U}, 90000);
    const auto now = std::chrono::steady_clock::now();
    const bool rewritten = rewriter.rewrite(packet, now);
    if (rewritten != before.ok()) __builtin_trap();
    if (!rewritten) return;
    // Only the header fields change: the result is RTP of the same shape with the player's numbers.
    const auto after = rtp::parse_rtp(Bytes(packet));
    if (!after.ok() || after->ssrc() != 0x01020304U || after->sequence() != 65535 ||
        after->timestamp() != 0xffffff00U || after->payload().size() != before->payload().size())
        __builtin_trap();
    (void)rewriter.sender_info(std::nullopt, now, 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::uint8_t selector = data[0];
    ++data;
    --size;
    if (selector % 2 == 0) {
        check_sdp(std::string_view(reinterpret_cast<const char*>(data), size));
    } else {
        check_rtp(data, size);
    }
    return 0;
}
