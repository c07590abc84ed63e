#pragma once
// `streamgate relay`'s options, and the TOML file that may hold them: a [relay] table whose keys are the long
// option names (`interface = ["203.0.113.1", "2001:db8::1"]`, `port-min = 30000`, `listen-ng =
// "127.0.0.1:2223"`). Options given on the command line win over the file.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace sg::app {

struct RelayFlags {
    std::vector<std::string> interfaces;
    std::vector<std::string> listen_ng;
    std::vector<std::string> listen_udp;
    std::vector<std::string> listen_tcp_ng;
    std::vector<std::string> listen_unix;
    unsigned port_min = 30000;
    unsigned port_max = 40000;
    unsigned timeout = 60;
    unsigned silent_timeout = 3600;
    unsigned delete_delay = 30;
    unsigned max_sessions = 100000;
    unsigned num_threads = 0;
    std::string media_io = "auto";
    std::string admin;
    std::string admin_token_file;
    std::string recording_dir;
    std::string prompt_dir;
    std::string log_level = "info";
    std::string config_file;
    int table = -1;  // rtpengine's kernel table: >= 0 forwards latched media in the kernel (nftables)
    bool compatibility_flag = false;
};

// Fills the options the command line did not give (`given("--port-min")` is false) from the file's [relay]
// table. False with `error` set for an unreadable file, an unknown key or a value of the wrong type.
bool read_relay_config_file(const std::string& path, const std::function<bool(std::string_view)>& given,
                            RelayFlags& flags, std::string& error);

}  // namespace sg::app
