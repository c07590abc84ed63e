#include "app/relay_config_file.hpp"

#include <toml++/toml.h>

#include <map>

namespace sg::app {
namespace {

// A key may hold one string or an array of strings.
bool read_strings(const toml::node& node, std::vector<std::string>& out) {
    if (const auto* text = node.as_string()) {
        out = {text->get()};
        return true;
    }
    const auto* array = node.as_array();
    if (array == nullptr) return false;
    std::vector<std::string> values;
    for (const auto& item : *array) {
        const auto* text = item.as_string();
        if (text == nullptr) return false;
        values.push_back(text->get());
    }
    out = std::move(values);
    return true;
}

bool read_unsigned(const toml::node& node, unsigned& out) {
    const auto* value = node.as_integer();
    if (value == nullptr || value->get() < 0 || value->get() > 0xffffffffLL) return false;
    out = static_cast<unsigned>(value->get());
    return true;
}

bool read_string(const toml::node& node, std::string& out) {
    const auto* value = node.as_string();
    if (value == nullptr) return false;
    out = value->get();
    return true;
}

}  // namespace

bool read_relay_config_file(const std::string& path, const std::function<bool(std::string_view)>& given,
                            RelayFlags& flags, std::string& error) {
    toml::table root;
    try {
        root = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
        error = std::string(e.description());
        return false;
    }
    const toml::table* table = root["relay"].as_table();
    if (table == nullptr) {
        error = "no [relay] table";
        return false;
    }
    using Reader = std::function<bool(const toml::node&)>;
    const std::map<std::string, Reader, std::less<>> readers = {
        {"interface", [&](const toml::node& n) { return read_strings(n, flags.interfaces); }},
        {"listen-ng", [&](const toml::node& n) { return read_strings(n, flags.listen_ng); }},
        {"listen-tcp-ng", [&](const toml::node& n) { return read_strings(n, flags.listen_tcp_ng); }},
        {"listen-udp", [&](const toml::node& n) { return read_strings(n, flags.listen_udp); }},
        {"listen-unix", [&](const toml::node& n) { return read_strings(n, flags.listen_unix); }},
        {"port-min", [&](const toml::node& n) { return read_unsigned(n, flags.port_min); }},
        {"port-max", [&](const toml::node& n) { return read_unsigned(n, flags.port_max); }},
        {"timeout", [&](const toml::node& n) { return read_unsigned(n, flags.timeout); }},
        {"silent-timeout", [&](const toml::node& n) { return read_unsigned(n, flags.silent_timeout); }},
        {"delete-delay", [&](const toml::node& n) { return read_unsigned(n, flags.delete_delay); }},
        {"max-sessions", [&](const toml::node& n) { return read_unsigned(n, flags.max_sessions); }},
        {"num-threads", [&](const toml::node& n) { return read_unsigned(n, flags.num_threads); }},
        {"recording-dir", [&](const toml::node& n) { return read_string(n, flags.recording_dir); }},
        {"prompt-dir", [&](const toml::node& n) { return read_string(n, flags.prompt_dir); }},
        {"admin", [&](const toml::node& n) { return read_string(n, flags.admin); }},
        {"admin-token-file", [&](const toml::node& n) { return read_string(n, flags.admin_token_file); }},
        {"log-level", [&](const toml::node& n) { return read_string(n, flags.log_level); }},
    };
    for (const auto& [key, node] : *table) {
        const auto reader = readers.find(key.str());
        if (reader == readers.end()) {
            error = "unknown key \"" + std::string(key.str()) + "\" in [relay]";
            return false;
        }
        if (given("--" + std::string(key.str()))) continue;
        if (!reader->second(node)) {
            error = "[relay] " + std::string(key.str()) + ": wrong type";
            return false;
        }
    }
    return true;
}

}  // namespace sg::app
