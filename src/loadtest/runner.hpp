#pragma once
// Runs a load test: N players started at a given rate on one io_context (or one per thread), a progress line
// per second, and their results in start order. SIGINT/SIGTERM stop it early with a summary.

#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

#include "loadtest/player.hpp"

namespace sg::loadtest {

struct RunConfig {
    PlayerConfig player;
    std::size_t players = 1;
    double ramp_per_s = 0;    // players started per second; 0 starts them all at once
    std::size_t threads = 1;  // io_contexts (one thread each) the players are spread over
};

struct RunOutcome {
    std::vector<PlayerResult> results;  // one per player, in start order
    double elapsed_s = 0;
};

// `progress` gets one line per second (nullptr: silent).
RunOutcome run_load(const RunConfig& config, std::FILE* progress);

}  // namespace sg::loadtest
