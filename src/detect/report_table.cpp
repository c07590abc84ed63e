#include "detect/report_table.hpp"

#include <algorithm>
#include <cstdio>
#include <tuple>

namespace sg::detect {

std::vector<std::size_t> table_order(const std::vector<StreamInfo>& streams) {
    std::vector<std::size_t> order(streams.size());
    for (std::size_t i = 0; i < order.size(); ++i)
        order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        const auto& x = streams[a];
        const auto& y = streams[b];
        return std::make_tuple(x.stats.first_time_ns(), x.key.src_port, x.key.dst_port, x.key.ssrc) <
               std::make_tuple(y.stats.first_time_ns(), y.key.src_port, y.key.dst_port, y.key.ssrc);
    });
    return order;
}

std::string ssrc_label(std::uint32_t ssrc) {
    char text[16];
    std::snprintf(text, sizeof text, "0x%08x", ssrc);
    return text;
}

std::string payload_label(const StreamInfo& stream) {
    if (!stream.codec.empty()) return stream.codec;
    return "PT" + std::to_string(stream.payload_type);
}

bool has_problem(const StreamInfo& stream) noexcept {
    return stream.stats.lost() != 0 || stream.stats.sequence_errors() != 0;
}

std::string format_table(const std::vector<StreamInfo>& streams, std::int64_t base_time_ns) {
    std::string out;
    char line[512];
    // Address columns as wide as the longest address (IPv4-only tables stay narrow).
    int width = 15;
    for (const auto& s : streams)
        width = std::max({width, static_cast<int>(to_string(s.key.src).size()),
                          static_cast<int>(to_string(s.key.dst).size())});
    out += "========================= RTP Streams ========================\n";
    std::snprintf(line, sizeof line, "%13s %13s %*s %5s %*s %5s %10s %14s %8s %16s %14s %15s %15s %9s %s\n",
                  "Start time", "End time", width, "Src IP addr", "Port", width, "Dest IP addr", "Port",
                  "SSRC", "Payload", "Pkts", "Lost", "Max Delta(ms)", "Max Jitter(ms)", "Mean Jitter(ms)",
                  "Problems?", "Found by");
    out += line;
    for (const auto i : table_order(streams)) {
        const auto& s = streams[i];
        const auto& st = s.stats;
        const double start = static_cast<double>(st.first_time_ns() - base_time_ns) / 1e9;
        const double end = static_cast<double>(st.last_time_ns() - base_time_ns) / 1e9;
        const auto expected = st.expected();
        const double lost_pct =
            expected > 0 ? 100.0 * static_cast<double>(st.lost()) / static_cast<double>(expected) : 0.0;
        char lost[40];
        std::snprintf(lost, sizeof lost, "%lld (%.1f%%)", static_cast<long long>(st.lost()), lost_pct);
        std::snprintf(line, sizeof line,
                      "%13.6f %13.6f %*s %5u %*s %5u %10s %14s %8llu %16s %14.3f %15.3f %15.3f %9s %s\n",
                      start, end, width, to_string(s.key.src).c_str(), s.key.src_port, width,
                      to_string(s.key.dst).c_str(), s.key.dst_port, ssrc_label(s.key.ssrc).c_str(),
                      payload_label(s).c_str(), static_cast<unsigned long long>(st.packets()), lost,
                      st.max_delta_ms(), st.max_jitter_ms(), st.mean_jitter_ms(), has_problem(s) ? "X" : "",
                      to_string(s.found_by));
        out += line;
    }
    out += "==============================================================\n";
    return out;
}

}  // namespace sg::detect
