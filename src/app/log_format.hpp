#pragma once
// --log-format json: one JSON object per log line, for log shippers. Every line has "time" (UTC, ISO 8601),
// "level" and "msg". A line written as an event in logfmt style, `EVENT key=value key="quoted value" ...`
// (session-end, alg-media-end, turn-allocation-end), also carries "event" and each key as a field, numbers
// as numbers, so a shipper indexes them without parsing the text.

#include <spdlog/formatter.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

namespace sg::app {

// The fields of an event line ({"event": EVENT, key: value, ...}); nullopt when `line` is not one.
std::optional<nlohmann::ordered_json> parse_event_line(std::string_view line);

class JsonLogFormatter final : public spdlog::formatter {
public:
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
    std::unique_ptr<spdlog::formatter> clone() const override;
};

}  // namespace sg::app
