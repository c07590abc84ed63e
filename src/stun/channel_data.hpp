#pragma once
// TURN ChannelData messages (RFC 8656 §12.4): channel number, length, application data.
// Over UDP the padding to 4 octets is optional, so a datagram may be longer than 4 + length; it may never
// be shorter. Over TCP (§12.5) the padding is mandatory and the length frames the stream.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/byte_io.hpp"
#include "common/result.hpp"

namespace sg::stun {

inline constexpr std::uint16_t k_min_channel = 0x4000;
// RFC 8656 narrowed the channel numbers to 0x4000-0x4FFF, but RFC 5766 allowed up to 0x7FFF and clients
// still use them (coturn's turnutils_uclient binds 0x6xxx): every number whose top bits say ChannelData is
// accepted, as coturn does.
inline constexpr std::uint16_t k_max_channel = 0x7FFF;
inline constexpr std::size_t k_channel_data_header_size = 4;

constexpr bool valid_channel(std::uint16_t channel) noexcept {
    return channel >= k_min_channel && channel <= k_max_channel;
}

// The first two bits of a datagram tell ChannelData (01) from STUN (00).
constexpr bool looks_like_channel_data(Bytes datagram) noexcept {
    return datagram.size() >= k_channel_data_header_size && (datagram[0] & 0xC0) == 0x40;
}

struct ChannelData {
    std::uint16_t channel = 0;
    Bytes data;  // a view into the datagram, padding excluded
};

// Validates one ChannelData datagram: a valid channel number and at least `length` octets of data.
Result<ChannelData> parse_channel_data(Bytes datagram) noexcept;

// Appends a ChannelData message; `pad` adds the zero padding to 4 (needed over TCP). Fails (appending
// nothing) for a channel outside 0x4000-0x7FFF or more than 65535 octets of data.
Result<std::size_t> append_channel_data(std::vector<std::uint8_t>& out, std::uint16_t channel, Bytes data,
                                        bool pad);

}  // namespace sg::stun
