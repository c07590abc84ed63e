#include "detect_capture/report_json.hpp"

#include <nlohmann/json.hpp>

#include "detect/report_table.hpp"

namespace sg::detect {
namespace {

double seconds(std::int64_t ns) {
    return static_cast<double>(ns) / 1e9;
}

nlohmann::json stream_json(const StreamInfo& s, std::int64_t base_ns) {
    const auto& st = s.stats;
    nlohmann::json j{
        {"src", to_string(s.key.src)},
        {"src_port", s.key.src_port},
        {"dst", to_string(s.key.dst)},
        {"dst_port", s.key.dst_port},
        {"ssrc", s.key.ssrc},
        {"ssrc_hex", ssrc_label(s.key.ssrc)},
        {"transport", s.key.tcp ? "rtsp-tcp" : "udp"},
        {"found_by", to_string(s.found_by)},
        {"payload_type", s.payload_type},
        {"codec", s.codec},
        {"clock_rate", s.clock_rate},
        {"start_time", seconds(st.first_time_ns())},
        {"end_time", seconds(st.last_time_ns())},
        {"start_relative", seconds(st.first_time_ns() - base_ns)},
        {"end_relative", seconds(st.last_time_ns() - base_ns)},
        {"packets", st.packets()},
        {"bytes", st.bytes()},
        {"first_sequence", st.first_sequence() & 0xffff},
        {"expected", st.expected()},
        {"lost", st.lost()},
        {"duplicates", st.duplicates()},
        {"reordered", st.reordered()},
        {"sequence_errors", st.sequence_errors()},
        {"sequence_wraps", st.wraps()},
        {"max_delta_ms", st.max_delta_ms()},
        {"jitter_ms", st.jitter_ms()},
        {"max_jitter_ms", st.max_jitter_ms()},
        {"mean_jitter_ms", st.mean_jitter_ms()},
        {"bitrate_bps", st.bitrate_bps()},
        {"problem", has_problem(s)},
    };
    nlohmann::json rtcp{{"packets", s.rtcp.packets},
                        {"sender_reports", s.rtcp.sender_reports},
                        {"receiver_report_blocks", s.rtcp.receiver_reports}};
    if (s.rtcp.last_sender_info) {
        const auto& sr = *s.rtcp.last_sender_info;
        rtcp["last_sr"] = {{"ntp_timestamp", sr.ntp_timestamp},
                           {"rtp_timestamp", sr.rtp_timestamp},
                           {"packet_count", sr.packet_count},
                           {"octet_count", sr.octet_count}};
    }
    if (s.rtcp.last_report_block) {
        const auto& rb = *s.rtcp.last_report_block;
        rtcp["last_report"] = {{"fraction_lost", rb.fraction_lost},
                               {"cumulative_lost", rb.cumulative_lost},
                               {"highest_sequence", rb.highest_sequence},
                               {"jitter", rb.jitter}};
    }
    j["rtcp"] = std::move(rtcp);
    return j;
}

}  // namespace

std::string to_json(const Detector& detector, const RunSummary& summary) {
    const auto& c = detector.counters();
    nlohmann::json decode;
    for (std::size_t i = 0; i < c.decode.size(); ++i)
        decode[to_string(static_cast<DecodeStatus>(i))] = c.decode[i];
    nlohmann::json counters{
        {"frames", c.frames},
        {"decode", decode},
        {"udp_packets", c.udp_packets},
        {"tcp_segments", c.tcp_segments},
        {"rtp_packets", c.rtp_packets},
        {"rtcp_packets", c.rtcp_packets},
        {"streams_by",
         {{"heuristic", c.streams_heuristic},
          {"rtsp", c.streams_rtsp},
          {"rtsp_interleaved", c.streams_rtsp_interleaved},
          {"sip", c.streams_sip}}},
        {"rtsp_connections", c.rtsp_connections},
        {"rtsp_messages", c.rtsp_messages},
        {"rtsp_setups", c.rtsp_setups},
        {"rtsp_resyncs", c.rtsp_resyncs},
        {"sip_messages", c.sip_messages},
        {"sdp_bodies", c.sdp_bodies},
        {"learned_endpoints", c.learned_endpoints},
        {"heuristic_rejects", c.heuristic_rejects},
        {"flows_expired", c.flows_expired},
        {"flows_over_cap", c.flows_over_cap},
        {"streams_over_cap", c.streams_over_cap},
    };
    nlohmann::json streams = nlohmann::json::array();
    for (const auto i : table_order(detector.streams()))
        streams.push_back(stream_json(detector.streams()[i], summary.first_time_ns));
    const double elapsed = summary.elapsed_s;
    nlohmann::json out{
        {"source", summary.source},
        {"link_type", summary.link_type},
        {"first_time", seconds(summary.first_time_ns)},
        {"last_time", seconds(summary.last_time_ns)},
        {"elapsed_s", elapsed},
        {"frames_per_second", elapsed > 0 ? static_cast<double>(c.frames) / elapsed : 0.0},
        {"min_packets", detector.config().min_packets},
        {"counters", counters},
        {"streams", streams},
    };
    if (!summary.error.empty()) out["error"] = summary.error;
    return out.dump(2) + "\n";
}

}  // namespace sg::detect
