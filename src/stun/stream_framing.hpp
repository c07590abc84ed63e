#pragma once
// Cutting STUN messages and ChannelData out of a TCP stream (RFC 8656 §12.5, RFC 8489 §6.2.2): the first two
// bits of each item say which it is (00 STUN, 01 ChannelData); STUN's length field counts the attributes
// after the 20-octet header, ChannelData's counts the data, which over TCP is padded to a multiple of 4.
// Anything else cannot be framed, and the connection must be closed.

#include <cstddef>

#include "common/byte_io.hpp"
#include "common/parse.hpp"

namespace sg::stun {

// need_more until a whole item is buffered (at most k_max_message_size octets are ever needed), then done
// with `consumed` = the item's length (ChannelData padding included). The value is unused.
Parsed<bool> frame_stream_item(Bytes buffered) noexcept;

}  // namespace sg::stun
