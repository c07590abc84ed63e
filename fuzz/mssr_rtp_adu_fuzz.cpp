// libFuzzer target for the RTP-over-MSSR rules (src/mssr/rtp_adu.hpp), whose inputs come off the network at
// the receiver.
//  1. The input as a session description ADU: one that parses is encoded again and must give the same octets.
//  2. The input as a (partial) RTP ADU: the first octet chooses a fragment size and which fragments count
//     as received; every packet handed out must lie within the input, in received fragments, and parse as
//     RTP with the ADU's timestamp.
//  3. The input cut into RTP packets and grouped: every complete ADU must unpack to exactly its packets.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "mssr/rtp_adu.hpp"
#include "rtp/rtp_packet.hpp"

namespace {

using namespace sg::mssr;

void check(bool property) {
    if (!property) __builtin_trap();
}

void description_round_trip(sg::Bytes input) {
    const auto parsed = parse_session_description(input);
    if (!parsed) return;
    const auto again = encode_session_description(*parsed);
    check(again.size() == input.size() && std::equal(again.begin(), again.end(), input.begin()));
}

void unpack_partial(sg::Bytes input) {
    if (input.size() < 5) return;
    const std::size_t fragment_size = 1 + input[0] % 64;
    const std::uint32_t timestamp = sg::load_be32(input.data() + 1);
    const sg::Bytes adu = input.subspan(5);
    std::vector<bool> received((adu.size() + fragment_size - 1) / fragment_size);
    for (std::size_t i = 0; i < received.size(); ++i)
        received[i] = ((input[0] >> (i % 8)) & 1) != 0 || i % 3 == 0;
    for_each_rtp_packet(adu, timestamp, received, fragment_size, [&](sg::Bytes packet) {
        check(packet.data() >= adu.data() && packet.data() + packet.size() <= adu.data() + adu.size());
        const auto begin = static_cast<std::size_t>(packet.data() - adu.data());
        for (std::size_t f = (begin - 2) / fragment_size; f <= (begin + packet.size() - 1) / fragment_size;
             ++f)
            check(received[f]);
        check(packet.size() >= 12 && (packet[0] >> 6) == 2 && sg::load_be32(packet.data() + 4) == timestamp);
    });
}

void group_and_unpack(sg::Bytes input) {
    RtpAduGrouper grouper(k_rtp_video_stream, true);
    std::vector<sg::Bytes> fed;
    // Length-prefixed (one octet) pieces of the input are the packets.
    for (std::size_t at = 0; at < input.size();) {
        const std::size_t n = std::min<std::size_t>(input[at], input.size() - at - 1);
        const sg::Bytes packet = input.subspan(at + 1, n);
        at += 1 + n;
        if (sg::rtp::parse_rtp(packet)) fed.push_back(packet);
        grouper.feed(packet, n % 2 == 0);
    }
    grouper.flush();
    std::size_t index = 0;
    for (const Adu& adu : grouper.take()) {
        for_each_rtp_packet(adu.data, adu.rtp_timestamp, {}, 0, [&](sg::Bytes packet) {
            check(index < fed.size() && packet.size() == fed[index].size() &&
                  std::equal(packet.begin(), packet.end(), fed[index].begin()));
            ++index;
        });
    }
    check(index == fed.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const sg::Bytes input(data, size);
    description_round_trip(input);
    unpack_partial(input);
    group_and_unpack(input);
    return 0;
}
