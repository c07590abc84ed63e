#pragma once
// Builds MSSR data packets for the receiver tests: the fragments of one ADU, as the sender would cut them.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

#include "mssr/fragmenter.hpp"
#include "mssr/sequence.hpp"
#include "mssr/wire.hpp"

namespace sg::mssr::test {

inline constexpr std::size_t k_test_mss = 64 + k_packet_overhead;  // 64 octets per fragment keeps tests small

inline std::vector<std::uint8_t> adu_bytes(std::size_t length, std::uint8_t seed) {
    std::vector<std::uint8_t> data(length);
    for (std::size_t i = 0; i < length; ++i)
        data[i] = static_cast<std::uint8_t>(seed + i * 7);
    return data;
}

// The datagrams of one ADU; fragment i has sequence first_sequence + i. `key_group`: the session's key
// parity group (fragmenter.hpp, parity_groups); AduInfo::version and parity_count: header version 3's count.
inline std::vector<std::vector<std::uint8_t>> fragments(const AduInfo& info, std::uint16_t first_sequence,
                                                        const std::vector<std::uint8_t>& data,
                                                        std::size_t mss = k_test_mss,
                                                        std::size_t key_group = 0,
                                                        ParityCode code = ParityCode::xor_groups) {
    std::vector<std::vector<std::uint8_t>> out;
    const auto plans = plan_fragments(info, first_sequence, mss, key_group);
    if (!plans) return out;
    const std::size_t size = fragment_size(mss, info.version);
    const std::size_t count = fragment_count(data.size(), size);
    // The header says how many parity fragments (parity_count_of: version 3's count or the groups rule).
    const std::size_t groups = parity_count_of(plans->front().header, count, key_group);
    for (const FragmentPlan& plan : *plans) {
        std::vector<std::uint8_t> packet;
        RtpFields rtp;
        rtp.ssrc = 100 + info.stream;
        rtp.rtp_timestamp = info.stream_sequence * 3000u;
        const std::vector<std::uint8_t> parity =
            plan.is_parity ? parity_of(data, size, groups, plan.header.fragment_index - count, code)
                           : std::vector<std::uint8_t>{};
        const Bytes payload = plan.is_parity ? Bytes(parity) : Bytes(data).subspan(plan.offset, plan.size);
        (void)append_data_packet(packet, rtp, plan.header, payload);
        out.push_back(std::move(packet));
    }
    return out;
}

inline AduInfo adu(std::uint8_t stream, std::uint16_t stream_sequence, std::uint32_t length,
                   std::uint32_t time_ms = 1000, Priority priority = Priority::key, bool parity = false) {
    AduInfo info;
    info.stream = stream;
    info.stream_sequence = stream_sequence;
    info.priority = priority;
    info.time_ms = static_cast<std::uint16_t>(time_ms);  // the wire's 16 bits
    info.length = length;
    info.parity = parity;
    return info;
}

inline TimePoint at_ms(std::int64_t ms) {
    return TimePoint(std::chrono::duration_cast<TimePoint::duration>(std::chrono::milliseconds(ms)));
}

}  // namespace sg::mssr::test
