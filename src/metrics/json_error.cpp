#include "metrics/json_error.hpp"

#include <nlohmann/json.hpp>

namespace sg::metrics {

std::string json_error(std::string_view message) {
    return nlohmann::json{{"error", message}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
           "\n";
}

}  // namespace sg::metrics
