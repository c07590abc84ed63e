#include "app/relay_config_file.hpp"

#include <gtest/gtest.h>

#include "temp_toml_file.hpp"

namespace sg::app {
namespace {

class RelayConfigFile : public test::TempTomlFile {};

const auto nothing_given = [](std::string_view) { return false; };

TEST_F(RelayConfigFile, ReadsEveryKindOfKey) {
    RelayFlags flags;
    std::string error;
    ASSERT_TRUE(read_relay_config_file(write("[relay]\ninterface = [\"203.0.113.1\", \"2001:db8::1\"]\n"
                                             "listen-ng = \"127.0.0.1:2223\"\nport-min = 31000\n"
                                             "recording-dir = \"/var/lib/rec\"\nmedia-io = \"epoll\"\n"),
                                       nothing_given, flags, error))
        << error;
    EXPECT_EQ(flags.interfaces, (std::vector<std::string>{"203.0.113.1", "2001:db8::1"}));
    EXPECT_EQ(flags.listen_ng, std::vector<std::string>{"127.0.0.1:2223"});
    EXPECT_EQ(flags.port_min, 31000U);
    EXPECT_EQ(flags.recording_dir, "/var/lib/rec");
    EXPECT_EQ(flags.media_io, "epoll");
}

TEST_F(RelayConfigFile, TheCommandLineWins) {
    RelayFlags flags;
    flags.port_min = 35000;
    std::string error;
    ASSERT_TRUE(read_relay_config_file(
        write("[relay]\nport-min = 31000\nport-max = 39999\n"),
        [](std::string_view option) { return option == "--port-min"; }, flags, error));
    EXPECT_EQ(flags.port_min, 35000U);
    EXPECT_EQ(flags.port_max, 39999U);
}

TEST_F(RelayConfigFile, RefusesUnknownKeysWrongTypesAndAMissingTable) {
    RelayFlags flags;
    std::string error;
    EXPECT_FALSE(read_relay_config_file(write("[relay]\nport-mni = 1\n"), nothing_given, flags, error));
    EXPECT_EQ(error, "line 2: [relay] port-mni: unknown key");
    EXPECT_FALSE(
        read_relay_config_file(write("[relay]\ntimeout = \"sixty\"\n"), nothing_given, flags, error));
    EXPECT_FALSE(read_relay_config_file(write("[relay]\ntimeout = -1\n"), nothing_given, flags, error));
    EXPECT_EQ(error, "line 2: [relay] timeout: wrong type or out of range");
    EXPECT_FALSE(read_relay_config_file(write("port-min = 1\n"), nothing_given, flags, error));
    EXPECT_EQ(error, "no [relay] table");
    EXPECT_FALSE(read_relay_config_file(write("[relay\n"), nothing_given, flags, error));
}

}  // namespace
}  // namespace sg::app
