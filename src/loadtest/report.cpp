#include "loadtest/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace sg::loadtest {
namespace {

nlohmann::json to_json(const Percentiles& p) {
    return {{"count", p.count}, {"p50", p.p50}, {"p95", p.p95}, {"p99", p.p99}, {"max", p.max}};
}

template <class T>
nlohmann::json optional_json(const std::optional<T>& value) {
    return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

std::string percentile_line(std::string_view name, const Percentiles& p) {
    if (p.count == 0) return fmt::format("  {:<13} -\n", name);
    return fmt::format("  {:<13} p50 {:.1f}  p95 {:.1f}  p99 {:.1f}  max {:.1f} ms\n", name, p.p50, p.p95,
                       p.p99, p.max);
}

}  // namespace

Percentiles percentiles(std::vector<double> values) {
    Percentiles out;
    out.count = values.size();
    if (values.empty()) return out;
    std::sort(values.begin(), values.end());
    const auto rank = [&](double p) {
        const auto n = static_cast<double>(values.size());
        const auto index = static_cast<std::size_t>(std::max(std::ceil(p / 100.0 * n), 1.0)) - 1;
        return values[std::min(index, values.size() - 1)];
    };
    out.p50 = rank(50);
    out.p95 = rank(95);
    out.p99 = rank(99);
    out.max = values.back();
    return out;
}

Summary summarize(const std::vector<PlayerResult>& players, double elapsed_s) {
    Summary s;
    s.sessions = players.size();
    s.elapsed_s = elapsed_s;
    std::vector<double> describe, setup, play, first_rtp, first_key_frame;
    double jitter_sum = 0;
    std::size_t jitter_count = 0;
    for (const auto& p : players) {
        (p.ok ? s.succeeded : s.failed) += 1;
        if (!p.ok) ++s.errors[p.error];
        s.rtp_packets += p.rtp_packets;
        s.rtp_bytes += p.rtp_bytes;
        s.rtp_lost += p.rtp_lost;
        s.rtp_invalid += p.rtp_invalid;
        s.rtp_duplicates += p.rtp_duplicates;
        s.rtcp_packets += p.rtcp_packets;
        if (p.rtcp_packets > 0) ++s.players_with_rtcp;
        if (p.describe_ms) describe.push_back(*p.describe_ms);
        if (p.setup_ms) setup.push_back(*p.setup_ms);
        if (p.play_ms) play.push_back(*p.play_ms);
        if (p.first_rtp_ms) first_rtp.push_back(*p.first_rtp_ms);
        if (p.first_key_frame_ms) first_key_frame.push_back(*p.first_key_frame_ms);
        if (p.first_packet_key && !*p.first_packet_key) ++s.players_first_packet_not_key;
        if (p.jitter_ms) {
            jitter_sum += *p.jitter_ms;
            ++jitter_count;
            s.jitter_max_ms = std::max(s.jitter_max_ms, *p.jitter_ms);
        }
    }
    s.describe_ms = percentiles(std::move(describe));
    s.setup_ms = percentiles(std::move(setup));
    s.play_ms = percentiles(std::move(play));
    s.first_rtp_ms = percentiles(std::move(first_rtp));
    s.first_key_frame_ms = percentiles(std::move(first_key_frame));
    if (jitter_count > 0) s.jitter_mean_ms = jitter_sum / static_cast<double>(jitter_count);
    if (elapsed_s > 0) s.mbit_per_s = static_cast<double>(s.rtp_bytes) * 8 / elapsed_s / 1e6;
    return s;
}

nlohmann::json to_json(const Summary& s) {
    nlohmann::json errors = nlohmann::json::object();
    for (const auto& [reason, count] : s.errors)
        errors[reason] = count;
    return {
        {"sessions", s.sessions},
        {"succeeded", s.succeeded},
        {"failed", s.failed},
        {"rtp_packets", s.rtp_packets},
        {"rtp_bytes", s.rtp_bytes},
        {"rtp_lost", s.rtp_lost},
        {"rtp_invalid", s.rtp_invalid},
        {"rtp_duplicates", s.rtp_duplicates},
        {"rtcp_packets", s.rtcp_packets},
        {"players_with_rtcp", s.players_with_rtcp},
        {"describe_ms", to_json(s.describe_ms)},
        {"setup_ms", to_json(s.setup_ms)},
        {"play_ms", to_json(s.play_ms)},
        {"first_rtp_ms", to_json(s.first_rtp_ms)},
        {"first_key_frame_ms", to_json(s.first_key_frame_ms)},
        {"players_first_packet_not_key", s.players_first_packet_not_key},
        {"jitter_ms", {{"mean", s.jitter_mean_ms}, {"max", s.jitter_max_ms}}},
        {"errors", errors},
        {"elapsed_s", s.elapsed_s},
        {"mbit_per_s", s.mbit_per_s},
    };
}

nlohmann::json to_json(const PlayerResult& p) {
    return {
        {"ok", p.ok},
        {"error", p.error},
        {"tracks", p.tracks},
        {"describe_ms", optional_json(p.describe_ms)},
        {"setup_ms", optional_json(p.setup_ms)},
        {"play_ms", optional_json(p.play_ms)},
        {"first_rtp_ms", optional_json(p.first_rtp_ms)},
        {"first_key_frame_ms", optional_json(p.first_key_frame_ms)},
        {"first_packet_key", p.first_packet_key ? nlohmann::json(*p.first_packet_key) : nlohmann::json()},
        {"rtp_packets", p.rtp_packets},
        {"rtp_bytes", p.rtp_bytes},
        {"rtp_lost", p.rtp_lost},
        {"rtp_invalid", p.rtp_invalid},
        {"rtp_duplicates", p.rtp_duplicates},
        {"rtcp_packets", p.rtcp_packets},
        {"jitter_ms", optional_json(p.jitter_ms)},
    };
}

std::string to_text(const Summary& s) {
    std::string out = fmt::format("sessions {}: {} succeeded, {} failed ({:.1f} s)\n", s.sessions,
                                  s.succeeded, s.failed, s.elapsed_s);
    out += fmt::format("  RTP           {} packets, {} bytes, {} lost, {} invalid, {:.2f} Mbit/s\n",
                       s.rtp_packets, s.rtp_bytes, s.rtp_lost, s.rtp_invalid, s.mbit_per_s);
    out += fmt::format("  RTCP          {} packets ({} players saw some)\n", s.rtcp_packets,
                       s.players_with_rtcp);
    out += percentile_line("DESCRIBE", s.describe_ms);
    out += percentile_line("SETUP", s.setup_ms);
    out += percentile_line("PLAY", s.play_ms);
    out += percentile_line("first RTP", s.first_rtp_ms);
    if (s.first_key_frame_ms.count > 0) {
        out += percentile_line("key frame", s.first_key_frame_ms);
        out += fmt::format("  first packet  {} players began mid-GOP\n", s.players_first_packet_not_key);
    }
    out += fmt::format("  jitter        mean {:.2f}  max {:.2f} ms\n", s.jitter_mean_ms, s.jitter_max_ms);
    for (const auto& [reason, count] : s.errors)
        out += fmt::format("  error         {} x {}\n", count, reason);
    return out;
}

}  // namespace sg::loadtest
