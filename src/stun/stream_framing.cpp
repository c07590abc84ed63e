#include "stun/stream_framing.hpp"

#include "stun/channel_data.hpp"
#include "stun/stun_message.hpp"

namespace sg::stun {

Parsed<bool> frame_stream_item(Bytes buffered) noexcept {
    if (buffered.empty()) return Parsed<bool>::more();
    const unsigned kind = buffered[0] >> 6;
    if (kind == 0) {
        if (buffered.size() < 4) return Parsed<bool>::more();
        const std::size_t length = load_be16(buffered.data() + 2);
        if ((length & 3) != 0) return Parsed<bool>::fail("stun stream: length not a multiple of 4");
        // The cookie tells STUN from other protocols early (TLS, say): no point in buffering 64 KiB of them.
        if (buffered.size() >= 8 && load_be32(buffered.data() + 4) != k_magic_cookie)
            return Parsed<bool>::fail("stun stream: no magic cookie");
        const std::size_t total = k_header_size + length;
        if (buffered.size() < total) return Parsed<bool>::more();
        return Parsed<bool>::ok(true, total);
    }
    if (kind == 1) {
        if (buffered.size() < k_channel_data_header_size) return Parsed<bool>::more();
        const std::size_t length = load_be16(buffered.data() + 2);
        const std::size_t total = (k_channel_data_header_size + length + 3) & ~std::size_t{3};
        if (buffered.size() < total) return Parsed<bool>::more();
        return Parsed<bool>::ok(true, total);
    }
    return Parsed<bool>::fail("stun stream: neither STUN nor ChannelData");
}

}  // namespace sg::stun
