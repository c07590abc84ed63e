#include "rtp/aac_packetizer.hpp"

#include <algorithm>
#include <array>

namespace sg::rtp {
namespace {
constexpr std::size_t k_au_headers_size = 4;  // AU-headers-length + one AU-header
constexpr std::uint16_t k_one_au_header_bits = 16;
}  // namespace

std::optional<AdtsHeader> parse_adts_header(Bytes frame) noexcept {
    if (frame.size() < 7 || frame[0] != 0xff || (frame[1] & 0xf6) != 0xf0) return std::nullopt;
    AdtsHeader h;
    const bool protection_absent = (frame[1] & 0x01) != 0;
    h.header_size = protection_absent ? 7 : 9;
    h.object_type = static_cast<std::uint8_t>((frame[2] >> 6) + 1);
    h.sampling_index = static_cast<std::uint8_t>((frame[2] >> 2) & 0x0f);
    h.channel_config = static_cast<std::uint8_t>(((frame[2] & 0x01) << 2) | (frame[3] >> 6));
    h.frame_size =
        (std::size_t{frame[3] & 0x03U} << 11) | (std::size_t{frame[4]} << 3) | (std::size_t{frame[5]} >> 5);
    if (h.frame_size < h.header_size || frame.size() < h.header_size) return std::nullopt;
    return h;
}

std::vector<std::uint8_t> audio_specific_config(const AdtsHeader& adts) {
    // 5 bits object type, 4 bits sampling frequency index, 4 bits channel configuration, 3 zero bits.
    const auto bits = static_cast<std::uint16_t>((adts.object_type << 11) | (adts.sampling_index << 7) |
                                                 (adts.channel_config << 3));
    return {static_cast<std::uint8_t>(bits >> 8), static_cast<std::uint8_t>(bits)};
}

std::string aac_fmtp(Bytes audio_specific_config) {
    static constexpr std::array<char, 16> k_hex{'0', '1', '2', '3', '4', '5', '6', '7',
                                                '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};
    std::string text =
        "streamtype=5;profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3;config=";
    for (const std::uint8_t b : audio_specific_config) {
        text += k_hex[b >> 4];
        text += k_hex[b & 0x0f];
    }
    return text;
}

AacPacketizer::AacPacketizer(std::size_t max_payload)
    : max_payload_(std::max<std::size_t>(max_payload, k_au_headers_size + 1)) {}

Result<std::size_t> AacPacketizer::packetize(Bytes frame, PayloadList& out) {
    out.clear();
    if (const auto adts = parse_adts_header(frame)) {
        if (adts->frame_size > frame.size()) return fail("aac: truncated ADTS frame");
        frame = frame.subspan(adts->header_size, adts->frame_size - adts->header_size);
    }
    if (frame.empty()) return fail("aac: empty frame");
    if (frame.size() > k_max_aac_au_size) return fail("aac: frame larger than a 13-bit AU-size");
    const auto au_header = static_cast<std::uint16_t>(frame.size() << 3);  // AU-index 0
    const std::size_t fragment_size = max_payload_ - k_au_headers_size;
    while (!frame.empty()) {
        const std::size_t n = std::min(fragment_size, frame.size());
        out.begin();
        out.append_u16(k_one_au_header_bits);
        out.append_u16(au_header);
        out.append(frame.first(n));
        out.finish(n == frame.size());
        frame = frame.subspan(n);
    }
    return out.size();
}

}  // namespace sg::rtp
