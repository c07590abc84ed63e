#pragma once
// MPEG-2 transport stream over RTP (RFC 2250 §2, payload type 33 "MP2T/90000"): the payload is a whole
// number of 188-byte TS packets, the marker bit is never set, the timestamp is the 90 kHz target
// transmission time of the first byte (given by the caller). `serve` uses it for files whose codecs have no
// RTP payload format of ours: the file is remuxed to a transport stream and sent as one track.
//
// The input is a byte stream that need not be split at packet boundaries: a partial packet is kept for the
// next call, and bytes that do not sit on a sync byte (0x47) are skipped until a sync byte that is followed
// by another one a packet later. The stream is assumed to start on a packet boundary (a TS file or a muxer's
// output does), so well-formed input is never held back. Pure code: no I/O, bounded memory (less than two
// packets are carried between calls).

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/byte_io.hpp"
#include "common/result.hpp"
#include "rtp/payload_list.hpp"

namespace sg::rtp {

inline constexpr std::size_t k_ts_packet_size = 188;
inline constexpr std::uint8_t k_ts_sync_byte = 0x47;
inline constexpr std::uint8_t k_mp2t_payload_type = 33;  // RFC 3551 §6, static
// Seven TS packets (1316 B) fill an Ethernet-sized datagram; the common choice of TS-over-RTP senders.
inline constexpr std::size_t k_mp2t_max_packets_per_payload = 7;
inline constexpr std::size_t k_mp2t_default_max_payload = 1400;

class Mp2tPacketizer {
public:
    // Payloads hold at most min(7, max_payload / 188) TS packets; a limit below 188 still gets one packet
    // per payload (a TS packet cannot be split).
    explicit Mp2tPacketizer(std::size_t max_payload = k_mp2t_default_max_payload);

    // Adds `bytes` to the stream and replaces `out` with payloads of every whole TS packet now available,
    // in order, none with the marker. Returns how many payloads (0 when less than a packet is buffered).
    Result<std::size_t> packetize(Bytes bytes, PayloadList& out);

    std::size_t packets_per_payload() const noexcept { return packets_per_payload_; }
    // Bytes buffered for the next call: a partial packet, or a sync candidate awaiting confirmation.
    std::size_t pending_bytes() const noexcept { return pending_.size(); }
    // Bytes skipped while looking for sync and how often sync was lost; a well-formed stream has none.
    std::uint64_t skipped_bytes() const noexcept { return skipped_; }
    std::uint64_t resyncs() const noexcept { return resyncs_; }
    // Forgets buffered bytes: the stream restarts on a packet boundary (a new muxer after a seek).
    void reset() noexcept {
        pending_.clear();
        in_sync_ = true;
    }

private:
    std::size_t packets_per_payload_ = k_mp2t_max_packets_per_payload;
    std::vector<std::uint8_t> pending_;  // the unprocessed tail, then this call's bytes appended
    bool in_sync_ = true;
    std::uint64_t skipped_ = 0;
    std::uint64_t resyncs_ = 0;
};

}  // namespace sg::rtp
