#include "mssr/fragmenter.hpp"

#include <algorithm>

namespace sg::mssr {

Result<std::vector<FragmentPlan>> plan_fragments(const AduInfo& adu, std::uint16_t first_sequence,
                                                 std::size_t mss) {
    const std::size_t size = fragment_size(mss);
    if (size == 0) return fail("MSS below the minimum");
    if (adu.length == 0) return fail("empty ADU");
    if (adu.length > k_max_adu_size) return fail("ADU longer than 16 MiB - 1");
    std::vector<FragmentPlan> plans;
    plans.reserve(fragment_count(adu.length, size));
    for (std::uint32_t offset = 0, index = 0; offset < adu.length;
         offset += static_cast<std::uint32_t>(size), ++index) {
        FragmentPlan plan;
        plan.header.priority = adu.priority;
        plan.header.stream = adu.stream;
        plan.header.sequence = static_cast<std::uint16_t>(first_sequence + index);
        plan.header.stream_sequence = adu.stream_sequence;
        plan.header.adu_length = adu.length;
        plan.header.adu_offset = offset;
        plan.header.adu_time_ms = adu.time_ms;
        plan.size = static_cast<std::uint32_t>(std::min<std::size_t>(size, adu.length - offset));
        plans.push_back(plan);
    }
    return plans;
}

}  // namespace sg::mssr
