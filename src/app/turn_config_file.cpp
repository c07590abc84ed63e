#include "app/turn_config_file.hpp"

#include "app/option_table.hpp"

namespace sg::app {

bool read_turn_config_file(const std::string& path, const std::function<bool(std::string_view)>& given,
                           TurnFlags& flags, std::string& error) {
    const OptionReaders readers = {
        {"listening-ip", strings_option(flags.listening_ips)},
        {"listening-port", number_option(flags.listening_port)},
        {"alt-listening-port", number_option(flags.alt_listening_port)},
        {"relay-ip", strings_option(flags.relay_ips)},
        {"min-port", number_option(flags.min_port)},
        {"max-port", number_option(flags.max_port)},
        {"user", strings_option(flags.users)},
        {"short-term-user", strings_option(flags.short_term_users)},
        {"realm", string_option(flags.realm)},
        {"lt-cred-mech", bool_option(flags.lt_cred_mech)},
        {"denied-peer-ip", strings_option(flags.denied_peer_ips)},
        {"allow-loopback-peers", bool_option(flags.allow_loopback_peers)},
        {"no-tcp", bool_option(flags.no_tcp)},
        {"max-tcp-connections", number_option(flags.max_tcp_connections)},
        {"max-allocate-timeout", number_option(flags.max_allocate_timeout)},
        {"total-quota", number_option(flags.total_quota)},
        {"user-quota", number_option(flags.user_quota)},
        {"max-allocate-lifetime", number_option(flags.max_allocate_lifetime)},
        {"max-auth-failures", number_option(flags.max_auth_failures)},
        {"admin", string_option(flags.admin)},
        {"admin-token-file", string_option(flags.admin_token_file)},
        {"log-level", string_option(flags.log_level)},
        {"rendezvous", bool_option(flags.rendezvous)},
        {"rendezvous-max-entries", number_option(flags.rendezvous_max_entries)},
        {"rendezvous-secret", string_option(flags.rendezvous_secret)},
        {"cert", string_option(flags.cert)},
        {"pkey", string_option(flags.pkey)},
        {"tls-listening-port", number_option(flags.tls_listening_port)},
        {"no-tls", bool_option(flags.no_tls)},
    };
    return read_option_table(path, "turn", readers, given, error);
}

}  // namespace sg::app
