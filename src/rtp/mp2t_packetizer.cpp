#include "rtp/mp2t_packetizer.hpp"

#include <algorithm>

namespace sg::rtp {

Mp2tPacketizer::Mp2tPacketizer(std::size_t max_payload)
    : packets_per_payload_(
          std::clamp<std::size_t>(max_payload / k_ts_packet_size, 1, k_mp2t_max_packets_per_payload)) {}

Result<std::size_t> Mp2tPacketizer::packetize(Bytes bytes, PayloadList& out) {
    out.clear();
    pending_.insert(pending_.end(), bytes.begin(), bytes.end());
    const std::size_t size = pending_.size();
    const Bytes stream(pending_);
    std::size_t pos = 0;
    std::size_t in_payload = 0;  // TS packets in the payload being built
    while (size - pos >= k_ts_packet_size) {
        if (in_sync_) {
            if (stream[pos] == k_ts_sync_byte) {
                if (in_payload == 0) out.begin();
                out.append(stream.subspan(pos, k_ts_packet_size));
                pos += k_ts_packet_size;
                if (++in_payload == packets_per_payload_) {
                    out.finish(false);  // RFC 2250 §2: the marker is never set for MP2T
                    in_payload = 0;
                }
                continue;
            }
            in_sync_ = false;
            ++resyncs_;
        }
        // Out of sync: a sync byte counts only when the next packet starts with one too, since 0x47 is a
        // common value inside payloads.
        if (stream[pos] == k_ts_sync_byte) {
            if (size - pos <= k_ts_packet_size) break;  // wait for the confirming byte
            if (stream[pos + k_ts_packet_size] == k_ts_sync_byte) {
                in_sync_ = true;
                continue;
            }
        }
        ++pos;
        ++skipped_;
    }
    if (in_payload > 0) out.finish(false);
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(pos));
    return out.size();
}

}  // namespace sg::rtp
