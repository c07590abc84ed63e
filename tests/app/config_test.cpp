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
max_sessions = 100
max_sessions_per_client = 7
max_udp_associations = 9
threads = 3
udp_segmentation = false
admin = "[::1]:9131"
family_policy = "prefer-ipv4"
users = ["alice:wonder land", "bob:x:y"]
[log]
level = "debug"

[[rule]]
name = "cameras"
action = "allow"
clients = ["2001:2::/48"]
commands = ["connect", "udp_associate"]
to = ["198.18.3.0/24", "cameras.example", "2001:2:0:4::/64"]
ports = ["554", "8000-8999"]
users = ["alice"]

[[rule]]
name = "nothing else"
action = "deny"
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
    EXPECT_EQ(config->max_sessions, 100u);
    EXPECT_EQ(config->max_sessions_per_client, 7u);
    EXPECT_EQ(config->max_udp_associations, 9u);
    EXPECT_EQ(config->threads, 3u);
    EXPECT_FALSE(config->udp_segmentation);
    EXPECT_EQ(config->log_level, "debug");
    EXPECT_EQ(config->family_policy, socks::FamilyPolicy::prefer_ipv4);
    ASSERT_TRUE(config->admin.has_value());
    EXPECT_EQ(net::to_string(*config->admin), "[::1]:9131");
    EXPECT_EQ(config->users.size(), 2u);
    EXPECT_TRUE(config->users.verify("alice", "wonder land"));
    EXPECT_TRUE(config->users.verify("bob", "x:y"));  // the password may contain ':'
    ASSERT_EQ(config->rules.size(), 2u);
    const auto& rule = config->rules[0];
    EXPECT_EQ(rule.name, "cameras");
    EXPECT_EQ(rule.action, socks::Action::allow);
    EXPECT_EQ(rule.clients.size(), 1u);
    EXPECT_EQ(rule.commands.size(), 2u);
    EXPECT_EQ(rule.to_networks.size(), 2u);
    ASSERT_EQ(rule.to_domains.size(), 1u);
    EXPECT_EQ(rule.to_domains[0], "cameras.example");
    ASSERT_EQ(rule.to_ports.size(), 2u);
    EXPECT_EQ(rule.to_ports[1].last, 8999);
    EXPECT_EQ(config->rules[1].action, socks::Action::deny);
}

TEST(Config, AdminCanBeTurnedOff) {
    std::string error;
    const auto config = parse("[gateway]\nadmin = \"\"\n", error);
    ASSERT_TRUE(config) << error;
    EXPECT_FALSE(config->admin.has_value());
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
        {"[gateway]\nmax_sessions = -1\n", "max_sessions: must be a number"},
        {"[gateway]\nthreads = 5000\n", "threads: must be a number from 0 to 1024"},
        {"[gateway]\nthreads = -1\n", "threads: must be a number"},
        {"[gateway]\nusers = [\"nopassword\"]\n", "users: an entry is invalid"},
        {"[[rule]]\nname = \"a\"\naction = \"maybe\"\n", "action"},
        {"[[rule]]\naction = \"allow\"\n", "needs name"},
        {"[[rule]]\nname = \"a\"\naction = \"allow\"\nports = [\"90-80\"]\n", "ports"},
        {"[[rule]]\nname = \"a\"\naction = \"allow\"\nto = [\"not a target!\"]\n", "neither"},
        {"[[rule]]\nname = \"a\"\naction = \"allow\"\ncolour = 1\n", "unknown key 'colour'"},
        {"[[rule]]\nname = \"a\"\naction = \"allow\"\n[[rule]]\nname = \"a\"\naction = \"deny\"\n",
         "same name"},
        {"rule = 3\n", "[[rule]] tables"},
        {"[gateway]\nfamily_policy = \"ipv5\"\n", "family_policy"},
        {"[gateway\n", "test:1:"},
        {"[alg]\nenabled = 1\n", "[alg] enabled"},
        {"[alg]\nports = \"30001-30001\"\n", "no even/odd"},
        {"[alg]\nports = \"0-100\"\n", "[alg] ports"},
        {"[alg]\nports = \"70000-70010\"\n", "[alg] ports"},
        {"[alg]\nports = 3\n", "[alg] ports"},
        {"[alg]\nsession_timeout_s = 0\n", "session_timeout_s"},
        {"[alg]\nport = \"1-2\"\n", "unknown key 'port'"},
    };
    for (const auto& c : cases) {
        std::string error;
        EXPECT_FALSE(parse(c.text, error)) << c.text;
        EXPECT_NE(error.find(c.message_part), std::string::npos) << "error was: " << error;
    }
}

// One run names every problem, each with the line it is on, in file order (streamgate check-config).
TEST(Config, NamesEveryProblemWithItsLine) {
    std::string error;
    EXPECT_FALSE(
        parse("[gateway]\n"
              "allow = [\"10.0.0.0/8\", \"300.1.2.3/8\"]\n"
              "idle_timeout_s = 0\n"
              "colour = 1\n"
              "[log]\n"
              "level = \"loud\"\n"
              "[extra]\n",
              error));
    EXPECT_EQ(error,
              "test:2: [gateway] allow: '300.1.2.3/8': not an IPv4 or IPv6 address\n"
              "test:3: idle_timeout_s: must be a positive number of seconds\n"
              "test:4: [gateway]: unknown key 'colour'\n"
              "test:6: [log] level: 'loud' is not one of trace, debug, info, warn, error, critical, off\n"
              "test:7: unknown section 'extra'");
}

TEST(Config, AlgSection) {
    std::string error;
    const auto defaults = parse_config(default_config_text(), "built-in default", error);
    ASSERT_TRUE(defaults) << error;
    EXPECT_TRUE(defaults->alg_enabled);
    EXPECT_EQ(defaults->alg_port_first, 30000);
    EXPECT_EQ(defaults->alg_port_last, 39999);
    EXPECT_EQ(defaults->alg_session_timeout, std::chrono::seconds{120});

    const auto custom = parse_config(
        "[alg]\nenabled = false\nports = \"40001-40010\"\nsession_timeout_s = 30\n", "test", error);
    ASSERT_TRUE(custom) << error;
    EXPECT_FALSE(custom->alg_enabled);
    EXPECT_EQ(custom->alg_port_first, 40001);
    EXPECT_EQ(custom->alg_port_last, 40010);
    EXPECT_EQ(custom->alg_session_timeout, std::chrono::seconds{30});

    EXPECT_TRUE(parse_alg_ports("30000-30001").ok());
    EXPECT_FALSE(parse_alg_ports("30000").ok());
    EXPECT_FALSE(parse_alg_ports("30002-30000").ok());
}

}  // namespace
}  // namespace sg::app
