#include "app/option_table.hpp"

#include <iostream>
#include <limits>
#include <utility>

namespace sg::app {
namespace {

template <class T>
OptionReader integer_into(T& out) {
    return [&out](const toml::node& node) {
        const auto* value = node.as_integer();
        if (value == nullptr || value->get() < 0 ||
            static_cast<std::uint64_t>(value->get()) > std::numeric_limits<T>::max())
            return false;
        out = static_cast<T>(value->get());
        return true;
    };
}

}  // namespace

OptionReader strings_option(std::vector<std::string>& out) {
    return [&out](const toml::node& node) {
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
    };
}

OptionReader string_option(std::string& out) {
    return [&out](const toml::node& node) {
        const auto* value = node.as_string();
        if (value == nullptr) return false;
        out = value->get();
        return true;
    };
}

OptionReader bool_option(bool& out) {
    return [&out](const toml::node& node) {
        const auto* value = node.as_boolean();
        if (value == nullptr) return false;
        out = value->get();
        return true;
    };
}

OptionReader number_option(unsigned& out) {
    return integer_into(out);
}

OptionReader number_option(std::uint16_t& out) {
    return integer_into(out);
}

OptionReader number_option(std::size_t& out) {
    return integer_into(out);
}

OptionReader number_option(std::optional<std::uint16_t>& out) {
    return [&out](const toml::node& node) {
        std::uint16_t value = 0;
        if (!integer_into(value)(node)) return false;
        out = value;
        return true;
    };
}

OptionReader number_option(int& out) {
    return [&out](const toml::node& node) {
        const auto* value = node.as_integer();
        if (value == nullptr || value->get() < std::numeric_limits<int>::min() ||
            value->get() > std::numeric_limits<int>::max())
            return false;
        out = static_cast<int>(value->get());
        return true;
    };
}

bool read_option_table(const std::string& path, std::string_view table_name, const OptionReaders& readers,
                       const std::function<bool(std::string_view)>& given, std::string& error) {
    toml::table root;
    try {
        root = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
        error = "line " + std::to_string(e.source().begin.line) + ": " + std::string(e.description());
        return false;
    }
    const toml::table* table = root[table_name].as_table();
    if (table == nullptr) {
        error = "no [" + std::string(table_name) + "] table";
        return false;
    }
    for (const auto& [key, node] : *table) {
        const std::string where = "line " + std::to_string(node.source().begin.line) + ": [" +
                                  std::string(table_name) + "] " + std::string(key.str());
        const auto reader = readers.find(key.str());
        if (reader == readers.end()) {
            error = where + ": unknown key";
            return false;
        }
        if (given("--" + std::string(key.str()))) continue;
        if (!reader->second(node)) {
            error = where + ": wrong type or out of range";
            return false;
        }
    }
    return true;
}

std::function<bool(std::string_view)> given_on_command_line(const CLI::App& command) {
    return
        [&command](std::string_view option) { return command.get_option(std::string(option))->count() > 0; };
}

bool read_config_file_or_complain(std::string_view command, const std::string& path,
                                  const std::function<bool(std::string& error)>& read) {
    std::string error;
    if (read(error)) return true;
    std::cerr << "streamgate: " << command << ": " << path << ": " << error << '\n';
    return false;
}

}  // namespace sg::app
