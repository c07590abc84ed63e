#pragma once
// The stream table printed on stdout, shaped like `tshark -q -z rtp,streams` so the two read side by side:
// one line per stream (start and end relative to the first frame, addresses, ports, SSRC, payload, packets,
// lost with its percentage, largest interarrival gap, jitter) plus how the stream was found.

#include <cstdint>
#include <string>
#include <vector>

#include "detect/detector.hpp"

namespace sg::detect {

// Streams in table order (by start time, then addresses), as indices into `streams`.
std::vector<std::size_t> table_order(const std::vector<StreamInfo>& streams);

std::string payload_label(const StreamInfo& stream);
std::string ssrc_label(std::uint32_t ssrc);
// "X" when tshark would flag the stream: lost packets or sequence errors.
bool has_problem(const StreamInfo& stream) noexcept;

std::string format_table(const std::vector<StreamInfo>& streams, std::int64_t base_time_ns);

}  // namespace sg::detect
