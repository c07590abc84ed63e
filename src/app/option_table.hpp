#pragma once
// A TOML table whose keys are a subcommand's long option names (`port-min = 30000`, `interface = ["a",
// "b"]`), read into the same variables the command line fills: `streamgate relay --config-file` ([relay]) and
// `streamgate turn --config-file` ([turn]). Options given on the command line win over the file.

#include <toml++/toml.h>
#include <CLI/CLI.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sg::app {

// Reads one value into its variable; false when the node has the wrong type or range.
using OptionReader = std::function<bool(const toml::node&)>;
using OptionReaders = std::map<std::string, OptionReader, std::less<>>;

OptionReader strings_option(std::vector<std::string>& out);  // one string or an array of strings
OptionReader string_option(std::string& out);
OptionReader bool_option(bool& out);
// A non-negative integer that fits the variable.
OptionReader number_option(unsigned& out);
OptionReader number_option(std::uint16_t& out);
OptionReader number_option(std::size_t& out);
OptionReader number_option(std::optional<std::uint16_t>& out);
OptionReader number_option(int& out);  // any integer that fits

// Reads [table] of the file at `path` with `readers`, skipping keys whose option `given("--key")` says the
// command line set. False with `error` ("line 3: [relay] port-min: wrong type") for an unreadable or
// malformed file, a missing table, an unknown key or a value of the wrong type.
bool read_option_table(const std::string& path, std::string_view table, const OptionReaders& readers,
                       const std::function<bool(std::string_view)>& given, std::string& error);

// read_option_table's `given`, answered from a parsed (sub)command: whether `--name` was on its command line.
std::function<bool(std::string_view)> given_on_command_line(const CLI::App& command);

// Runs `read` for a subcommand's --config-file; false after saying why on stderr
// ("streamgate: relay: /etc/x.toml: line 3: ...").
bool read_config_file_or_complain(std::string_view command, const std::string& path,
                                  const std::function<bool(std::string& error)>& read);

}  // namespace sg::app
