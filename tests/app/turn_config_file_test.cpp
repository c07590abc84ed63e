#include "app/turn_config_file.hpp"

#include <gtest/gtest.h>

#include "temp_toml_file.hpp"

namespace sg::app {
namespace {

class TurnConfigFile : public test::TempTomlFile {};

const auto nothing_given = [](std::string_view) { return false; };

TEST_F(TurnConfigFile, ReadsEveryKindOfKey) {
    TurnFlags flags;
    std::string error;
    ASSERT_TRUE(read_turn_config_file(write("[turn]\nlistening-ip = [\"198.51.100.1\", \"2001:db8::1\"]\n"
                                            "listening-port = 3479\nalt-listening-port = 0\n"
                                            "user = [\"alice:se:cret\"]\nshort-term-user = \"ice:pw\"\n"
                                            "realm = \"example.org\"\nallow-loopback-peers = true\n"
                                            "total-quota = 500\nmax-auth-failures = 0\n"),
                                      nothing_given, flags, error))
        << error;
    EXPECT_EQ(flags.listening_ips, (std::vector<std::string>{"198.51.100.1", "2001:db8::1"}));
    EXPECT_EQ(flags.listening_port, 3479);
    EXPECT_EQ(flags.alt_listening_port, std::uint16_t{0});
    EXPECT_EQ(flags.users, std::vector<std::string>{"alice:se:cret"});
    EXPECT_EQ(flags.short_term_users, std::vector<std::string>{"ice:pw"});
    EXPECT_EQ(flags.realm, "example.org");
    EXPECT_TRUE(flags.allow_loopback_peers);
    EXPECT_EQ(flags.total_quota, 500u);
    EXPECT_EQ(flags.max_auth_failures, 0u);
}

TEST_F(TurnConfigFile, TheCommandLineWins) {
    TurnFlags flags;
    flags.users = {"bob:x"};
    std::string error;
    ASSERT_TRUE(read_turn_config_file(
        write("[turn]\nuser = [\"alice:y\"]\nmin-port = 50000\n"),
        [](std::string_view option) { return option == "--user"; }, flags, error));
    EXPECT_EQ(flags.users, std::vector<std::string>{"bob:x"});
    EXPECT_EQ(flags.min_port, 50000);
}

TEST_F(TurnConfigFile, RefusesWhatTheCommandLineWouldWithItsLine) {
    TurnFlags flags;
    std::string error;
    EXPECT_FALSE(read_turn_config_file(write("[turn]\nrealm = \"r\"\nlistening-port = 70000\n"),
                                       nothing_given, flags, error));
    EXPECT_EQ(error, "line 3: [turn] listening-port: wrong type or out of range");
    EXPECT_FALSE(read_turn_config_file(write("[turn]\nno-tcp = \"yes\"\n"), nothing_given, flags, error));
    EXPECT_FALSE(read_turn_config_file(write("[turn]\nusers = []\n"), nothing_given, flags, error));
    EXPECT_EQ(error, "line 2: [turn] users: unknown key");
    EXPECT_FALSE(read_turn_config_file(write("[relay]\n"), nothing_given, flags, error));
    EXPECT_EQ(error, "no [turn] table");
}

}  // namespace
}  // namespace sg::app
