#pragma once
// Aggregates player results into the run's summary: counts, loss, latency percentiles, jitter and error
// reasons, as a text block for people and JSON for scripts. Pure code.

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "loadtest/player_result.hpp"

namespace sg::loadtest {

struct Percentiles {
    std::size_t count = 0;
    double p50 = 0;
    double p95 = 0;
    double p99 = 0;
    double max = 0;
};

// Nearest-rank percentiles (the smallest value with at least p% of the values at or below it).
Percentiles percentiles(std::vector<double> values);

struct Summary {
    std::size_t sessions = 0;
    std::size_t succeeded = 0;
    std::size_t failed = 0;
    std::uint64_t rtp_packets = 0;
    std::uint64_t rtp_bytes = 0;
    std::int64_t rtp_lost = 0;
    std::uint64_t rtp_invalid = 0;
    std::uint64_t rtp_duplicates = 0;
    std::uint64_t rtcp_packets = 0;
    std::size_t players_with_rtcp = 0;
    Percentiles describe_ms;
    Percentiles setup_ms;
    Percentiles play_ms;
    Percentiles first_rtp_ms;
    Percentiles first_key_frame_ms;                // players with an H.264/H.265 track (player_result.hpp)
    std::size_t players_first_packet_not_key = 0;  // of those, players whose video began mid-GOP
    double jitter_mean_ms = 0;                     // over players, each player counting its worst track
    double jitter_max_ms = 0;
    std::map<std::string, std::size_t> errors;  // reason -> players that failed with it
    double elapsed_s = 0;
    double mbit_per_s = 0;  // RTP bytes over the whole run
};

Summary summarize(const std::vector<PlayerResult>& players, double elapsed_s);

nlohmann::json to_json(const Summary& summary);
nlohmann::json to_json(const PlayerResult& player);
std::string to_text(const Summary& summary);

}  // namespace sg::loadtest
