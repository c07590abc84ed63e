#include "rtp/rtp_packet.hpp"

namespace sg::rtp {

namespace {

constexpr std::size_t k_max_extension_words = 0xffff;

void store_be16(std::uint8_t* p, std::uint16_t v) noexcept {
    p[0] = static_cast<std::uint8_t>(v >> 8);
    p[1] = static_cast<std::uint8_t>(v);
}

void store_be32(std::uint8_t* p, std::uint32_t v) noexcept {
    store_be16(p, static_cast<std::uint16_t>(v >> 16));
    store_be16(p + 2, static_cast<std::uint16_t>(v));
}

}  // namespace

std::uint32_t RtpView::csrc(std::size_t i) const noexcept {
    if (i >= csrc_count()) return 0;
    return load_be32(data_.data() + k_fixed_header_size + 4 * i);
}

Result<RtpView> parse_rtp(Bytes packet) noexcept {
    if (packet.size() < k_fixed_header_size) return fail("RTP packet shorter than the fixed header");
    if ((packet[0] >> 6) != k_rtp_version) return fail("RTP version is not 2");

    RtpView view;
    view.data_ = packet;
    ByteReader reader(packet);
    reader.skip(k_fixed_header_size);
    if (!reader.skip(4 * std::size_t{view.csrc_count()})) return fail("RTP CSRC list exceeds the packet");

    if (view.has_extension()) {
        std::uint16_t profile = 0;
        std::uint16_t words = 0;
        if (!reader.read_u16(profile) || !reader.read_u16(words)) {
            return fail("RTP header extension header truncated");
        }
        if (!reader.read_bytes(4 * std::size_t{words}, view.extension_data_)) {
            return fail("RTP header extension exceeds the packet");
        }
        view.extension_profile_ = profile;
    }
    view.header_size_ = reader.position();

    std::size_t padding = 0;
    if (view.has_padding()) {
        // The count octet is the last octet of the packet, so it must lie after the header.
        if (reader.empty()) return fail("RTP padding bit set but no room for the padding count");
        padding = packet.back();
        if (padding == 0) return fail("RTP padding count is zero");
        if (padding > reader.remaining()) return fail("RTP padding exceeds the payload");
    }
    view.payload_size_ = reader.remaining() - padding;
    return view;
}

Result<std::size_t> append_rtp(std::vector<std::uint8_t>& out, const RtpHeader& header, Bytes payload,
                               std::uint8_t padding) {
    if (header.payload_type > k_max_payload_type) return fail("RTP payload type exceeds 127");
    if (header.csrcs.size() > k_max_csrcs) return fail("more than 15 CSRCs");
    if (header.extension) {
        if (header.extension->data.size() % 4 != 0) return fail("RTP header extension not a whole word");
        if (header.extension->data.size() / 4 > k_max_extension_words) {
            return fail("RTP header extension too long");
        }
    }

    const std::size_t start = out.size();
    ByteWriter w(out);
    std::uint8_t first = static_cast<std::uint8_t>(k_rtp_version << 6);
    if (padding != 0) first |= 0x20;
    if (header.extension) first |= 0x10;
    first |= static_cast<std::uint8_t>(header.csrcs.size());
    w.put_u8(first);
    w.put_u8(static_cast<std::uint8_t>((header.marker ? 0x80 : 0) | header.payload_type));
    w.put_u16(header.sequence);
    w.put_u32(header.timestamp);
    w.put_u32(header.ssrc);
    for (const std::uint32_t csrc : header.csrcs)
        w.put_u32(csrc);
    if (header.extension) {
        w.put_u16(header.extension->profile);
        w.put_u16(static_cast<std::uint16_t>(header.extension->data.size() / 4));
        w.put_bytes(header.extension->data);
    }
    w.put_bytes(payload);
    if (padding != 0) {
        out.insert(out.end(), padding - 1u, std::uint8_t{0});
        w.put_u8(padding);
    }
    return out.size() - start;
}

bool set_sequence(std::span<std::uint8_t> packet, std::uint16_t sequence) noexcept {
    if (packet.size() < k_fixed_header_size) return false;
    store_be16(packet.data() + 2, sequence);
    return true;
}

bool set_timestamp(std::span<std::uint8_t> packet, std::uint32_t timestamp) noexcept {
    if (packet.size() < k_fixed_header_size) return false;
    store_be32(packet.data() + 4, timestamp);
    return true;
}

bool set_ssrc(std::span<std::uint8_t> packet, std::uint32_t ssrc) noexcept {
    if (packet.size() < k_fixed_header_size) return false;
    store_be32(packet.data() + 8, ssrc);
    return true;
}

bool set_payload_type(std::span<std::uint8_t> packet, std::uint8_t payload_type) noexcept {
    if (packet.size() < k_fixed_header_size || payload_type > k_max_payload_type) return false;
    packet[1] = static_cast<std::uint8_t>((packet[1] & 0x80) | payload_type);
    return true;
}

bool set_marker(std::span<std::uint8_t> packet, bool marker) noexcept {
    if (packet.size() < k_fixed_header_size) return false;
    packet[1] = static_cast<std::uint8_t>((packet[1] & 0x7f) | (marker ? 0x80 : 0));
    return true;
}

bool looks_like_rtcp(Bytes packet) noexcept {
    if (packet.size() < 4 || (packet[0] >> 6) != k_rtp_version) return false;
    const unsigned pt = packet[1] & 0x7fu;
    return pt >= 64 && pt <= 95;
}

}  // namespace sg::rtp
