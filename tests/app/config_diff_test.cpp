// What a reload reports as changed (POST /api/v1/reload, the SIGHUP log line).
#include "app/config_diff.hpp"

#include <gtest/gtest.h>

namespace sg::app {
namespace {

GatewayConfig parse(std::string_view toml) {
    std::string error;
    auto config = parse_config(toml, "test", error);
    EXPECT_TRUE(config) << error;
    return config ? *config : GatewayConfig{};
}

TEST(ConfigDiff, SameConfigurationChangesNothing) {
    const auto a = parse(default_config_text());
    EXPECT_TRUE(describe_changes(a, a).empty());
}

TEST(ConfigDiff, NamesEachChangedSettingAndMount) {
    const auto before = parse(R"(
[gateway]
socks = ["127.0.0.1:1080"]
allow = ["10.0.0.0/8"]
users = ["alice:secret1"]
idle_timeout_s = 300
threads = 1
[rtsp]
listen = ["127.0.0.1:8554"]
[[rtsp.mount]]
name = "cam"
url = "rtsp://198.18.3.2/live"
[[rtsp.mount]]
name = "old"
url = "rtsp://198.18.3.2/old"
)");
    const auto after = parse(R"(
[gateway]
socks = ["127.0.0.1:1081"]
allow = ["10.0.0.0/16"]
users = ["alice:secret2"]
idle_timeout_s = 60
threads = 2
udp_segmentation = false
[rtsp]
listen = ["127.0.0.1:8554"]
[[rtsp.mount]]
name = "cam"
url = "rtsp://198.18.3.2/other"
[[rtsp.mount]]
name = "new"
url = "rtsp://198.18.3.2/new"
)");
    const auto changes = describe_changes(before, after);
    const std::vector<std::string> expected = {"socks listeners (needs a restart)",
                                               "allow",
                                               "users",
                                               "timeouts",
                                               "threads (needs a restart)",
                                               "udp_segmentation (needs a restart)",
                                               "rtsp mount cam changed",
                                               "rtsp mount new added",
                                               "rtsp mount old removed"};
    EXPECT_EQ(changes, expected);
    for (const auto& change : changes)
        EXPECT_EQ(change.find("secret"), std::string::npos);  // never a password
}

TEST(ConfigDiff, RulesCompareByContent) {
    const auto rule = [](std::string_view port) {
        return parse(std::string(R"(
[[rule]]
name = "web"
action = "allow"
ports = [")") + std::string(port) +
                     "\"]\n");
    };
    EXPECT_TRUE(describe_changes(rule("80"), rule("80")).empty());
    EXPECT_EQ(describe_changes(rule("80"), rule("443")), std::vector<std::string>{"rules"});
}

}  // namespace
}  // namespace sg::app
