// libFuzzer target for the MSSR receiver: a sequence of packets (raw datagrams, or well-formed fragments
// built from fuzzed fields so the fuzzer reaches deep reassembly states) with fuzzed arrival times. The
// reassembler must never exceed its memory bounds, its feedback must always encode and parse, and what it
// delivers must respect its ADU bound. A feedback pacer follows the packets (with their W bits) as
// mssr::Socket drives it, and must be due whenever its own next_due() has come.
//
// Input: records [kind u8][time step u8][...]: kind bit 0 set = a built fragment from 12 field octets
// (stream, priority (bit 7: a parity-protected ADU), sequence u16, stream sequence u16, ADU length u16,
// fragment index u8, ADU time u16, fill octet whose bit 0 is the W bit), clear = a raw datagram of
// (kind >> 1) octets. Kind bit 7 asks for feedback after the record. Inputs whose size has bit 1 set are a
// session of header version 3, whose built fragments carry a parity count taken from priority bits 2-4.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "mssr/feedback_pacer.hpp"
#include "mssr/fragmenter.hpp"
#include "mssr/reassembler.hpp"
#include "mssr/wire.hpp"

namespace {

using namespace sg::mssr;

constexpr std::size_t k_mss = k_packet_overhead + 64;
// Key ADUs get a parity fragment per 4 data fragments (fragmenter.hpp, parity_groups), the others one.
constexpr std::size_t k_key_parity_group = 4;

void check(bool property) {
    if (!property) __builtin_trap();
}

ReassemblerConfig make_config() {
    ReassemblerConfig c;
    c.mss = k_mss;
    c.max_streams = 4;
    c.max_adu_bytes = 16 * 1024;
    c.max_stream_bytes = 40 * 1024;
    c.max_total_bytes = 64 * 1024;
    c.max_pending_adus = 32;
    c.key_parity_group = k_key_parity_group;
    c.reorder_window = std::chrono::milliseconds(3);
    c.streams = {StreamPolicy{std::chrono::milliseconds(100), RetransmitMode::by_value, LatePolicy::drop},
                 StreamPolicy{std::chrono::milliseconds(40), RetransmitMode::key_only, LatePolicy::partial},
                 StreamPolicy{std::chrono::milliseconds(0), RetransmitMode::none, LatePolicy::drop}};
    return c;
}

std::vector<std::uint8_t> build_fragment(const std::uint8_t* f, std::uint8_t version) {
    const std::size_t size = fragment_size(k_mss, version);
    AduInfo info;
    info.stream = f[0] % 5;  // 4 is out of range on purpose
    info.priority = static_cast<Priority>(f[1] % 3);
    info.stream_sequence = static_cast<std::uint16_t>(f[4] << 8 | f[5]);
    info.length = std::max<std::uint32_t>(1, static_cast<std::uint32_t>(f[6] << 8 | f[7]));
    info.time_ms = static_cast<std::uint16_t>(f[9] << 8 | f[10]);
    info.parity = (f[1] & 0x80) != 0;
    info.version = version;
    const std::size_t data_fragments = fragment_count(info.length, size);
    if (version == k_version_parity_count && info.parity)
        info.parity_count = 1 + ((f[1] >> 2) & 7) % data_fragments;
    const std::size_t count = data_fragments + parity_count_of(info, data_fragments, k_key_parity_group);
    const std::size_t index = f[8] % count;
    const auto sequence = static_cast<std::uint16_t>(f[2] << 8 | f[3]);
    const auto plans =
        plan_fragments(info, static_cast<std::uint16_t>(sequence - index), k_mss, k_key_parity_group);
    std::vector<std::uint8_t> packet;
    if (!plans) return packet;
    const FragmentPlan& plan = (*plans)[index];
    const std::vector<std::uint8_t> payload(plan.size, f[11]);
    FragmentHeader header = plan.header;
    header.feedback_wanted = (f[11] & 1) != 0;
    RtpFields rtp;
    rtp.ssrc = info.stream;
    (void)append_data_packet(packet, rtp, header, payload);
    return packet;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    ReassemblerConfig config = make_config();
    // A key ADU's parity fragments in the Cauchy code for odd-sized inputs, XOR groups otherwise. The
    // fuzzer's parity fragments are not the code's, so a rebuild yields garbage octets: the bounds are what
    // is tested.
    config.cauchy_parity = (size & 1) != 0;
    config.header_version = (size & 2) != 0 ? k_version_parity_count : k_version;
    Reassembler reassembler(config);
    FeedbackPacer pacer;
    auto now = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
    std::size_t pos = 0;
    while (size - pos >= 2) {
        const std::uint8_t kind = data[pos];
        now += std::chrono::milliseconds(data[pos + 1]);
        pos += 2;
        if ((kind & 1) != 0) {
            if (size - pos < 12) break;
            reassembler.on_packet(now, build_fragment(data + pos, config.header_version));
            pos += 12;
        } else {
            const std::size_t length = std::min<std::size_t>((kind & 0x7f) >> 1, size - pos);
            reassembler.on_packet(now, sg::Bytes(data + pos, length));
            pos += length;
        }
        pacer.on_data(now, reassembler.last_wants_feedback());
        const auto next = pacer.next_due();
        check(!next || now < *next || pacer.due(now, std::nullopt));
        check(reassembler.memory_used() <= config.max_total_bytes);
        check(reassembler.receive_window() == config.max_total_bytes - reassembler.memory_used());
        if ((kind & 0x80) != 0) {
            const Feedback f = reassembler.make_feedback(now);
            pacer.on_sent(now, !f.nacks.empty(), reassembler.repair_round_trip());
            check(f.acks.size() <= k_feedback_block_budget && f.nacks.size() <= k_feedback_block_budget);
            std::vector<std::uint8_t> out;
            check(append_feedback_datagram(out, f).ok());
            const auto view = parse_feedback_datagram(out);
            check(view.ok() && view->to_feedback() == f);
        }
        for (const Delivery& d : reassembler.take_deliveries()) {
            check(d.stream < config.max_streams);
            check(d.data.size() <= config.max_adu_bytes);
            check(d.outcome != Delivery::Outcome::lost || d.data.empty());
            check(d.lost_count >= 1);
        }
    }
    // Long after every deadline, nothing may remain held.
    now += std::chrono::hours(1);
    reassembler.poll(now);
    check(reassembler.memory_used() == 0);
    return 0;
}
