#include "mssr/fragmenter.hpp"

#include <algorithm>

namespace sg::mssr {

Result<std::vector<FragmentPlan>> plan_fragments(const AduInfo& adu, std::uint16_t first_sequence,
                                                 std::size_t mss, std::size_t key_group) {
    const std::size_t size = fragment_size(mss, adu.version);
    if (size == 0) return fail("MSS below the minimum");
    if (adu.length == 0) return fail("empty ADU");
    if (adu.stream > k_max_stream) return fail("MSSR stream number beyond 15");
    if (adu.length > k_max_adu_size) return fail("ADU longer than 16 MiB - 1");
    const std::size_t count = fragment_count(adu.length, size);
    if (adu.version != k_version && adu.version != k_version_parity_count)
        return fail("unknown MSSR version");
    const std::size_t parities = parity_count_of(adu, count, key_group);
    if (count + parities > std::size_t{k_max_fragment_index} + 1)
        return fail("ADU of more fragments than the 13-bit index numbers");
    if (parities > count) return fail("more parity fragments than data fragments");
    const bool count_on_wire = adu.version == k_version_parity_count;
    if (!count_on_wire && adu.parity_count != 0) return fail("MSSR version 2 carries no parity count");
    if (count_on_wire && parities > 0xff) return fail("more parity fragments than the count octet holds");
    std::vector<FragmentPlan> plans;
    plans.reserve(count + parities);
    for (std::uint32_t offset = 0, index = 0; offset < adu.length;
         offset += static_cast<std::uint32_t>(size), ++index) {
        FragmentPlan plan;
        plan.header.priority = adu.priority;
        plan.header.stream = adu.stream;
        plan.header.sequence = static_cast<std::uint16_t>(first_sequence + index);
        plan.header.stream_sequence = adu.stream_sequence;
        plan.header.adu_length = adu.length;
        plan.header.fragment_index = static_cast<std::uint16_t>(index);
        plan.header.adu_time_ms = adu.time_ms;
        plan.header.parity = adu.parity;
        plan.header.version = adu.version;
        plan.header.parity_count = count_on_wire ? static_cast<std::uint8_t>(parities) : 0;
        plan.offset = offset;
        plan.size = static_cast<std::uint32_t>(std::min<std::size_t>(size, adu.length - offset));
        plans.push_back(plan);
    }
    for (std::size_t group = 0; group < parities; ++group) {
        FragmentPlan plan = plans.front();
        plan.header.sequence = static_cast<std::uint16_t>(first_sequence + count + group);
        plan.header.fragment_index = static_cast<std::uint16_t>(count + group);
        plan.offset = 0;
        plan.size = static_cast<std::uint32_t>(parity_fragment_size(adu.length, size));
        plan.is_parity = true;
        plans.push_back(plan);
    }
    return plans;
}

void xor_into(std::span<std::uint8_t> parity, Bytes fragment) noexcept {
    const std::size_t n = std::min(parity.size(), fragment.size());
    for (std::size_t i = 0; i < n; ++i)
        parity[i] = static_cast<std::uint8_t>(parity[i] ^ fragment[i]);
}

std::vector<std::uint8_t> parity_of(Bytes adu, std::size_t fragment_size, std::size_t groups,
                                    std::size_t group, ParityCode code) {
    if (code == ParityCode::cauchy) return cauchy_parity_of(adu, fragment_size, groups, group);
    std::vector<std::uint8_t> parity(parity_fragment_size(adu.size(), fragment_size), 0);
    if (fragment_size == 0 || groups == 0) return parity;
    // The group's members lie `groups` fragments apart.
    const std::size_t stride = groups * fragment_size;
    for (std::size_t offset = group * fragment_size; offset < adu.size(); offset += stride)
        xor_into(parity, adu.subspan(offset, std::min(fragment_size, adu.size() - offset)));
    return parity;
}

}  // namespace sg::mssr
