#include "app/log_format.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <cctype>
#include <chrono>
#include <string>

#include "common/text.hpp"

namespace sg::app {
namespace {

bool is_name_char(char c) {
    return std::islower(static_cast<unsigned char>(c)) != 0 ||
           std::isdigit(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
}

bool is_name(std::string_view text) {
    if (text.empty() || std::islower(static_cast<unsigned char>(text.front())) == 0) return false;
    for (const char c : text)
        if (!is_name_char(c)) return false;
    return true;
}

// A whole-token unsigned number becomes a JSON number; anything else (addresses, "1.250s") stays text.
nlohmann::ordered_json value_of(std::string_view text) {
    if (!text.empty() && text.size() <= 19) {
        if (const auto number = parse_uint<std::uint64_t>(text)) return *number;
    }
    return std::string(text);
}

}  // namespace

std::optional<nlohmann::ordered_json> parse_event_line(std::string_view line) {
    const auto space = line.find(' ');
    const std::string_view event = line.substr(0, space);
    if (!is_name(event) || space == std::string_view::npos) return std::nullopt;
    nlohmann::ordered_json fields = nlohmann::ordered_json::object();
    fields["event"] = std::string(event);
    std::size_t at = space;
    while (at < line.size()) {
        while (at < line.size() && line[at] == ' ')
            ++at;
        if (at == line.size()) break;
        const auto equals = line.find('=', at);
        if (equals == std::string_view::npos) return std::nullopt;
        const std::string_view key = line.substr(at, equals - at);
        if (!is_name(key) || fields.contains(std::string(key))) return std::nullopt;
        at = equals + 1;
        if (at < line.size() && line[at] == '"') {
            // The writers escape '"' and '\' inside quoted values as \xNN, so the next quote ends it.
            const auto close = line.find('"', at + 1);
            if (close == std::string_view::npos) return std::nullopt;
            fields[std::string(key)] = std::string(line.substr(at + 1, close - at - 1));
            at = close + 1;
            if (at < line.size() && line[at] != ' ') return std::nullopt;
        } else {
            const auto end = std::min(line.find(' ', at), line.size());
            fields[std::string(key)] = value_of(line.substr(at, end - at));
            at = end;
        }
    }
    return fields;
}

void JsonLogFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
    const std::string_view text(msg.payload.data(), msg.payload.size());
    nlohmann::ordered_json line = nlohmann::ordered_json::object();
    const auto since_epoch = msg.time.time_since_epoch();
    const auto seconds = std::chrono::floor<std::chrono::seconds>(since_epoch);
    const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - seconds).count();
    line["time"] = fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z", std::chrono::sys_seconds{seconds}, millis);
    const auto level = spdlog::level::to_string_view(msg.level);
    line["level"] = std::string(level.data(), level.size());
    if (const auto fields = parse_event_line(text)) line.update(*fields);
    line["msg"] = std::string(text);
    // Never throws: bytes that are not UTF-8 (a peer's user name, say) become U+FFFD.
    const std::string out = line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    dest.append(out.data(), out.data() + out.size());
    dest.push_back('\n');
}

std::unique_ptr<spdlog::formatter> JsonLogFormatter::clone() const {
    return std::make_unique<JsonLogFormatter>();
}

}  // namespace sg::app
