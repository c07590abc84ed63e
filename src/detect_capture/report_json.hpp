#pragma once
// The machine-readable report (`--json`): every stream with its statistics and RTCP figures, and the
// detector's counters (how streams were found, what the decoder skipped).

#include <cstdint>
#include <string>

#include "detect/detector.hpp"

namespace sg::detect {

struct RunSummary {
    std::string source;     // file path or interface
    std::string link_type;  // libpcap's name
    std::int64_t first_time_ns = 0;
    std::int64_t last_time_ns = 0;
    double elapsed_s = 0;  // wall-clock processing time
    std::string error;     // empty when the capture was read to its end
};

std::string to_json(const Detector& detector, const RunSummary& summary);

}  // namespace sg::detect
