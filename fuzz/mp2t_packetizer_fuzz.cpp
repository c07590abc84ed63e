// libFuzzer target for the RFC 2250 MP2T packetizer (`serve` sends remuxed files through it; its input is a
// byte stream that may be misaligned or corrupt). The first octet picks the payload limit, the second the
// size of the pieces the rest is fed in. Properties: no crash; every payload is 1..7 whole TS packets within
// the limit, each starting with the sync byte, never with the marker; bounded buffering; and no byte is
// lost or invented: bytes sent + skipped + still buffered == bytes given. Input whose every 188th byte is a
// sync byte comes out unchanged.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "rtp/mp2t_packetizer.hpp"

namespace {

using namespace sg::rtp;

void check(bool property) {
    if (!property) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const std::size_t max_payload = 100 + data[0] * 8U;
    const std::size_t piece = 1 + data[1] * 4U;
    const sg::Bytes stream(data + 2, size - 2);
    bool aligned = stream.size() % k_ts_packet_size == 0;
    for (std::size_t i = 0; aligned && i < stream.size(); i += k_ts_packet_size)
        aligned = stream[i] == k_ts_sync_byte;

    Mp2tPacketizer packetizer(max_payload);
    PayloadList out;
    std::vector<std::uint8_t> sent;
    for (std::size_t offset = 0; offset < stream.size(); offset += piece) {
        const auto chunk = stream.subspan(offset, std::min(piece, stream.size() - offset));
        const auto payloads = packetizer.packetize(chunk, out);
        check(payloads.ok() && *payloads == out.size());
        for (std::size_t i = 0; i < out.size(); ++i) {
            const sg::Bytes p = out.payload(i);
            check(!out.chunk(i).marker && out.chunk(i).timestamp_offset == 0);
            check(!p.empty() && p.size() % k_ts_packet_size == 0);
            check(p.size() / k_ts_packet_size <= packetizer.packets_per_payload());
            check(p.size() <= max_payload || p.size() == k_ts_packet_size);
            for (std::size_t k = 0; k < p.size(); k += k_ts_packet_size)
                check(p[k] == k_ts_sync_byte);
            sent.insert(sent.end(), p.begin(), p.end());
        }
        check(packetizer.pending_bytes() <= k_ts_packet_size);
    }
    check(sent.size() + packetizer.skipped_bytes() + packetizer.pending_bytes() == stream.size());
    if (aligned) check(sent.size() == stream.size() && std::equal(sent.begin(), sent.end(), stream.begin()));
    return 0;
}
