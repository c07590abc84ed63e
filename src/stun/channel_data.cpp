#include "stun/channel_data.hpp"

namespace sg::stun {

Result<ChannelData> parse_channel_data(Bytes datagram) noexcept {
    ByteReader r(datagram);
    std::uint16_t channel = 0;
    std::uint16_t length = 0;
    if (!r.read_u16(channel) || !r.read_u16(length)) return fail("channel data: shorter than the header");
    if (!valid_channel(channel)) return fail("channel data: channel number outside 0x4000-0x7FFF");
    ChannelData out;
    out.channel = channel;
    if (!r.read_bytes(length, out.data)) return fail("channel data: shorter than its length");
    // Up to 3 octets of padding may follow; anything beyond is not a ChannelData message.
    if (r.remaining() > 3) return fail("channel data: longer than its length and padding");
    return out;
}

Result<std::size_t> append_channel_data(std::vector<std::uint8_t>& out, std::uint16_t channel, Bytes data,
                                        bool pad) {
    if (!valid_channel(channel)) return fail("channel data: channel number outside 0x4000-0x7FFF");
    if (data.size() > 0xFFFF) return fail("channel data: more than 65535 octets");
    const std::size_t before = out.size();
    ByteWriter w(out);
    w.put_u16(channel);
    w.put_u16(static_cast<std::uint16_t>(data.size()));
    w.put_bytes(data);
    if (pad)
        while ((out.size() - before) % 4 != 0)
            out.push_back(0);
    return out.size() - before;
}

}  // namespace sg::stun
