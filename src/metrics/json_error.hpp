#pragma once
// The body of an API error: {"error": "<why>"} and a newline, built by nlohmann-json (any bytes that are not
// UTF-8 replaced, never an exception).

#include <string>
#include <string_view>

namespace sg::metrics {

std::string json_error(std::string_view message);

}  // namespace sg::metrics
