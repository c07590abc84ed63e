#pragma once
// Packetizers for audio whose RTP payload is the codec's own frame:
//   Opus (RFC 7587): one Opus packet per RTP packet, never split, clock 48000 whatever the input rate.
//   G.711 PCMU/PCMA (RFC 3551 §4.5.14): sample octets; a long demuxer packet is cut into pieces of at most
//   `max_samples` sample times, each with its timestamp offset (one octet per sample per channel).
// Pure code: no I/O.

#include <cstddef>
#include <cstdint>

#include "common/byte_io.hpp"
#include "common/result.hpp"
#include "rtp/payload_list.hpp"

namespace sg::rtp {

// Opus: the whole packet as one payload (RFC 7587 §4.2). Fails on an empty packet or one over the limit.
Result<std::size_t> packetize_opus(Bytes packet, PayloadList& out, std::size_t max_payload = 1400);

// G.711: pieces of at most `max_samples` sample times (160 = 20 ms at 8 kHz), never splitting a sample
// time across channels. Fails when channels is 0 or the size is not a whole number of sample times.
Result<std::size_t> packetize_g711(Bytes samples, std::size_t channels, PayloadList& out,
                                   std::size_t max_samples = 160);

}  // namespace sg::rtp
