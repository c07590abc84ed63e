#include "app/config.hpp"

#include <gtest/gtest.h>

namespace sg::app {
namespace {

std::optional<GatewayConfig> parse(std::string_view text, std::string& error) {
    return parse_config(text, "test", error);
}

TEST(Config, BuiltInDefaultListensOnLoopbackOnlyAndAdmitsNobodyElse) {
    std::string error;
    const auto config = parse(default_config_text(), error);
    ASSERT_TRUE(config) << error;
    ASSERT_FALSE(config->socks_listeners.empty());
    for (const auto& hp : config->socks_listeners) {
        EXPECT_TRUE(hp.host == "127.0.0.1" || hp.host == "::1") << hp.host;
    }
    EXPECT_TRUE(config->allow.empty());
}

TEST(Config, ReadsEveryKey) {
    std::string error;
    const auto config = parse(R"(
[gateway]
socks = ["[2001:2::1]:1080", "198.18.1.1:1080"]
allow = ["198.18.0.0/15", "2001:2::/48"]
handshake_timeout_s = 3
connect_timeout_s = 4
idle_timeout_s = 5
drain_timeout_s = 6
[log]
level = "debug"
)",
                              error);
    ASSERT_TRUE(config) << error;
    ASSERT_EQ(config->socks_listeners.size(), 2u);
    EXPECT_EQ(config->socks_listeners[0].host, "2001:2::1");
    EXPECT_EQ(config->socks_listeners[1].port, 1080);
    ASSERT_EQ(config->allow.size(), 2u);
    EXPECT_EQ(config->allow[1].to_string(), "2001:2::/48");
    EXPECT_EQ(config->handshake_timeout.count(), 3);
    EXPECT_EQ(config->connect_timeout.count(), 4);
    EXPECT_EQ(config->idle_timeout.count(), 5);
    EXPECT_EQ(config->drain_timeout.count(), 6);
    EXPECT_EQ(config->log_level, "debug");
}

struct BadCase {
    std::string_view text;
    std::string_view message_part;
};

TEST(Config, RejectsMistakesWithAMessageNamingThem) {
    const BadCase cases[] = {
        {"[gateway]\nsocsk = []\n", "unknown key 'socsk'"},
        {"[gatway]\n", "unknown section 'gatway'"},
        {"[gateway]\nsocks = [\"::1:1080\"]\n", "brackets"},
        {"[gateway]\nsocks = \"127.0.0.1:1\"\n", "must be an array"},
        {"[gateway]\nallow = [\"10.0.0.1/8\"]\n", "beyond the prefix"},
        {"[gateway]\nidle_timeout_s = -1\n", "positive"},
        {"[log]\nlevel = \"loud\"\n", "'loud'"},
        {"[gateway\n", "test:1:"},
    };
    for (const auto& c : cases) {
        std::string error;
        EXPECT_FALSE(parse(c.text, error)) << c.text;
        EXPECT_NE(error.find(c.message_part), std::string::npos) << "error was: " << error;
    }
}

}  // namespace
}  // namespace sg::app
