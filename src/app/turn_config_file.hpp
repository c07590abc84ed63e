#pragma once
// `streamgate turn`'s options, and the TOML file that may hold them: a [turn] table whose keys are the long
// option names (`listening-ip = ["198.51.100.1", "2001:db8::1"]`, `user = ["alice:secret"]`,
// `allow-loopback-peers = true`). Options given on the command line win over the file. SIGHUP reads the
// file again for its credentials (`user`, `short-term-user`).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sg::app {

struct TurnFlags {
    std::vector<std::string> listening_ips;
    std::uint16_t listening_port = 3478;
    std::optional<std::uint16_t> alt_listening_port;
    std::vector<std::string> relay_ips;
    std::uint16_t min_port = 49152;
    std::uint16_t max_port = 65535;
    std::vector<std::string> users;
    std::vector<std::string> short_term_users;
    std::string realm = "streamgate";
    bool lt_cred_mech = false;
    std::vector<std::string> denied_peer_ips;
    bool allow_loopback_peers = false;
    bool no_tcp = false;
    std::size_t max_tcp_connections = 1024;
    unsigned max_allocate_timeout = 60;
    std::size_t total_quota = 10000;
    std::size_t user_quota = 100;
    unsigned max_allocate_lifetime = 3600;
    std::uint32_t max_auth_failures = 50;
    std::string admin;
    std::string admin_token_file;
    std::string log_level = "info";
    bool rendezvous = false;
    std::size_t rendezvous_max_entries = 10000;
    std::string rendezvous_secret;
    std::string cert;
    std::string pkey;
    std::uint16_t tls_listening_port = 5349;
    bool no_tls = false;
    std::string config_file;
};

// Fills the options the command line did not give (`given("--min-port")` is false) from the file's [turn]
// table. False with `error` set (with the line) for an unreadable file, an unknown key or a wrong value.
bool read_turn_config_file(const std::string& path, const std::function<bool(std::string_view)>& given,
                           TurnFlags& flags, std::string& error);

}  // namespace sg::app
