#include "app/relay_config_file.hpp"

#include "app/option_table.hpp"

namespace sg::app {

bool read_relay_config_file(const std::string& path, const std::function<bool(std::string_view)>& given,
                            RelayFlags& flags, std::string& error) {
    const OptionReaders readers = {
        {"interface", strings_option(flags.interfaces)},
        {"listen-ng", strings_option(flags.listen_ng)},
        {"listen-tcp-ng", strings_option(flags.listen_tcp_ng)},
        {"listen-udp", strings_option(flags.listen_udp)},
        {"listen-unix", strings_option(flags.listen_unix)},
        {"port-min", number_option(flags.port_min)},
        {"port-max", number_option(flags.port_max)},
        {"timeout", number_option(flags.timeout)},
        {"silent-timeout", number_option(flags.silent_timeout)},
        {"delete-delay", number_option(flags.delete_delay)},
        {"max-sessions", number_option(flags.max_sessions)},
        {"num-threads", number_option(flags.num_threads)},
        {"media-io", string_option(flags.media_io)},
        {"table", number_option(flags.table)},
        {"recording-dir", string_option(flags.recording_dir)},
        {"prompt-dir", string_option(flags.prompt_dir)},
        {"admin", string_option(flags.admin)},
        {"admin-token-file", string_option(flags.admin_token_file)},
        {"log-level", string_option(flags.log_level)},
    };
    return read_option_table(path, "relay", readers, given, error);
}

}  // namespace sg::app
