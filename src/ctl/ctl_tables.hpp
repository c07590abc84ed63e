#pragma once
// `streamgate ctl`'s human output: the admin API's JSON answers as aligned tables, like `rtpengine-ctl list`
// and `kamctl`. Pure: JSON in, text out; the command line (app/ctl_cli.cpp) does the I/O.

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace sg::ctl {

// Left-aligned columns two spaces apart, a header row first; cells are never cut.
std::string format_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows);

// The answer of one list or status request as text. `what` is the ctl command: "status", "sessions",
// "mounts", "players", "relays", "calls", "allocations". Unknown shapes fall back to indented JSON.
std::string render(std::string_view what, const nlohmann::json& body);

// 1536 -> "1.5 KiB"; 1234567 bit/s -> "1.2 Mbit/s"; 75.3 s -> "1m15s".
std::string human_bytes(std::uint64_t bytes);
std::string human_bitrate(std::uint64_t bits_per_second);
std::string human_duration(double seconds);

}  // namespace sg::ctl
