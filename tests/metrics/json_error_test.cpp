#include "metrics/json_error.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace sg::metrics {
namespace {

TEST(JsonError, AnyMessageIsValidJson) {
    EXPECT_EQ(json_error("no such call"), "{\"error\":\"no such call\"}\n");
    const std::string nasty = std::string("quote \" backslash \\ newline \n nul ") + '\0' + " bad utf-8 \xff";
    const auto parsed = nlohmann::json::parse(json_error(nasty));
    EXPECT_EQ(parsed["error"],
              std::string("quote \" backslash \\ newline \n nul ") + '\0' + " bad utf-8 \xef\xbf\xbd");
}

}  // namespace
}  // namespace sg::metrics
