#include "ctl/ctl_tables.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdint>

namespace sg::ctl {
namespace {

using nlohmann::json;

// A cell: strings as they are, null as "-", numbers and booleans as JSON writes them.
std::string cell(const json& value) {
    if (value.is_null()) return "-";
    if (value.is_string()) return value.get<std::string>();
    return value.dump();
}

std::string field(const json& object, std::string_view key) {
    const auto it = object.find(key);
    return it == object.end() ? "-" : cell(*it);
}

std::uint64_t number(const json& object, std::string_view key) {
    const auto it = object.find(key);
    return it != object.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
}

double real(const json& object, std::string_view key) {
    const auto it = object.find(key);
    return it != object.end() && it->is_number() ? it->get<double>() : 0.0;
}

// "N of TOTAL" under a table whose list was cut to a page.
std::string footer(const json& body, std::size_t shown) {
    const auto total = number(body, "total");
    if (total == shown) return fmt::format("{} in all\n", total);
    return fmt::format("{} shown of {} (from offset {})\n", shown, total, number(body, "offset"));
}

std::string list_table(const json& body, std::string_view key, const std::vector<std::string>& header,
                       std::vector<std::string> (*row)(const json&)) {
    const auto it = body.find(key);
    if (it == body.end() || !it->is_array()) return body.dump(2) + "\n";
    std::vector<std::vector<std::string>> rows;
    for (const auto& item : *it)
        rows.push_back(row(item));
    return format_table(header, rows) + footer(body, rows.size());
}

std::vector<std::string> session_row(const json& s) {
    return {field(s, "id"),
            field(s, "client"),
            field(s, "user"),
            field(s, "command"),
            field(s, "target"),
            human_bytes(number(s, "bytes_up")),
            human_bytes(number(s, "bytes_down")),
            human_duration(real(s, "age_s"))};
}

std::vector<std::string> mount_row(const json& m) {
    std::string state = field(m, "state");
    if (const auto t = m.find("upstream_transport"); t != m.end() && t->is_string()) {
        // append(), not "/" + text: g++ 12 reports a false -Wrestrict on the temporary.
        state.append("/").append(t->get<std::string>());
    }
    return {field(m, "name"),
            state,
            field(m, "transport"),
            field(m, "players"),
            human_bitrate(number(m, "bitrate_bps")),
            field(m, "url"),
            field(m, "last_error")};
}

std::vector<std::string> player_row(const json& p) {
    return {field(p, "id"),        field(p, "mount"),
            field(p, "client"),    field(p, "user"),
            field(p, "transport"), p.value("playing", false) ? "playing" : "ready",
            field(p, "packets"),   human_bytes(number(p, "bytes")),
            field(p, "dropped"),   human_duration(real(p, "age_s"))};
}

std::vector<std::string> relay_row(const json& r) {
    return {field(r, "session_id"),
            field(r, "client"),
            field(r, "origin"),
            fmt::format("{}/{}", field(r, "client_facing_port"), field(r, "origin_facing_port")),
            human_bytes(number(r, "bytes_to_client")),
            human_bytes(number(r, "bytes_to_origin")),
            field(r, "dropped"),
            human_duration(real(r, "age_s"))};
}

std::vector<std::string> call_row(const json& c) {
    std::size_t streams = 0;
    std::uint64_t packets = 0;
    std::uint64_t bytes = 0;
    const auto legs = c.find("legs");
    if (legs != c.end() && legs->is_array()) {
        for (const auto& leg : *legs) {
            const auto list = leg.find("streams");
            if (list == leg.end() || !list->is_array()) continue;
            for (const auto& stream : *list) {
                ++streams;
                packets += number(stream, "packets");
                bytes += number(stream, "bytes");
            }
        }
    }
    return {field(c, "call_id"), legs != c.end() && legs->is_array() ? std::to_string(legs->size()) : "-",
            std::to_string(streams), std::to_string(packets), human_bytes(bytes)};
}

std::vector<std::string> allocation_row(const json& a) {
    const auto bytes = [&a](std::string_view key) {
        const auto it = a.find(key);
        return it != a.end() && it->is_object() ? human_bytes(number(*it, "bytes")) : std::string("-");
    };
    std::string relayed = field(a, "relayed");
    if (const auto other = a.find("relayed_other"); other != a.end() && other->is_string())
        relayed.append(",").append(other->get<std::string>());
    return {field(a, "id"),
            field(a, "user"),
            field(a, "client"),
            field(a, "transport"),
            relayed,
            field(a, "permissions"),
            field(a, "channels"),
            bytes("to_peer"),
            bytes("to_client"),
            human_duration(real(a, "age_s"))};
}

// A list nobody wrote columns for: the scalar fields of its first item, in the order JSON keeps them.
std::string generic_table(const json& body, std::string_view key) {
    const auto it = body.find(key);
    if (it == body.end() || !it->is_array()) return body.dump(2) + "\n";
    std::vector<std::string> header;
    if (!it->empty() && it->front().is_object())
        for (const auto& [name, value] : it->front().items())
            if (!value.is_structured()) header.push_back(name);
    std::vector<std::vector<std::string>> rows;
    rows.reserve(it->size());
    for (const auto& item : *it) {
        std::vector<std::string> row;
        row.reserve(header.size());
        for (const auto& name : header)
            row.push_back(item.is_object() ? field(item, name) : "-");
        rows.push_back(std::move(row));
    }
    return (header.empty() ? std::string() : format_table(header, rows)) + footer(body, rows.size());
}

std::string status_text(const json& body) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& [key, value] : body.items()) {
        if (key == "listeners" && value.is_array()) {
            std::string joined;
            for (const auto& l : value)
                joined += (joined.empty() ? "" : ", ") + cell(l);
            rows.push_back({key, joined});
        } else if (key == "uptime_s" && value.is_number()) {
            rows.push_back({"uptime", human_duration(value.get<double>())});
        } else if (key == "last_reload" && value.is_object()) {
            std::string text = value.value("applied", false) ? "applied" : "refused";
            if (const auto e = value.find("error"); e != value.end()) text += ": " + cell(*e);
            if (const auto c = value.find("changes"); c != value.end() && c->is_array()) {
                std::string changes;
                for (const auto& change : *c)
                    changes += (changes.empty() ? "" : ", ") + cell(change);
                text += changes.empty() ? " (nothing changed)" : " (" + changes + ")";
            }
            rows.push_back({key, text});
        } else {
            rows.push_back({key, value.is_structured() ? value.dump() : cell(value)});
        }
    }
    // Key-value lines need no header row.
    std::size_t width = 0;
    for (const auto& row : rows)
        width = std::max(width, row[0].size());
    std::string out;
    for (const auto& row : rows)
        out += fmt::format("{:<{}}  {}\n", row[0], width, row[1]);
    return out;
}

}  // namespace

std::string format_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> widths(header.size());
    for (std::size_t i = 0; i < header.size(); ++i)
        widths[i] = header[i].size();
    for (const auto& row : rows)
        for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i)
            widths[i] = std::max(widths[i], row[i].size());
    const auto line = [&widths](const std::vector<std::string>& cells) {
        std::string out;
        for (std::size_t i = 0; i < widths.size(); ++i) {
            const std::string& text = i < cells.size() ? cells[i] : std::string();
            // The last column is not padded: no trailing blanks.
            out += i + 1 == widths.size() ? text : fmt::format("{:<{}}  ", text, widths[i]);
        }
        while (!out.empty() && out.back() == ' ')
            out.pop_back();
        return out + "\n";
    };
    std::string out = line(header);
    for (const auto& row : rows)
        out += line(row);
    return out;
}

std::string render(std::string_view what, const json& body) {
    if (what == "status") return status_text(body);
    if (what == "sessions")
        return list_table(body, "sessions", {"ID", "CLIENT", "USER", "CMD", "TARGET", "UP", "DOWN", "AGE"},
                          session_row);
    if (what == "mounts")
        return list_table(body, "mounts",
                          {"MOUNT", "STATE", "TRANSPORT", "PLAYERS", "BITRATE", "UPSTREAM", "LAST-ERROR"},
                          mount_row);
    if (what == "players")
        return list_table(
            body, "players",
            {"ID", "MOUNT", "CLIENT", "USER", "TRANSPORT", "STATE", "PACKETS", "BYTES", "DROPPED", "AGE"},
            player_row);
    if (what == "relays")
        return list_table(
            body, "relays",
            {"SESSION", "CLIENT", "ORIGIN", "PORTS", "TO-CLIENT", "TO-ORIGIN", "DROPPED", "AGE"}, relay_row);
    if (what == "calls")
        return list_table(body, "calls", {"CALL-ID", "LEGS", "STREAMS", "PACKETS", "BYTES"}, call_row);
    if (what == "allocations")
        return list_table(body, "allocations",
                          {"ID", "USER", "CLIENT", "TRANSPORT", "RELAYED", "PERMISSIONS", "CHANNELS",
                           "TO-PEER", "TO-CLIENT", "AGE"},
                          allocation_row);
    // A service newer than this ctl: a list under the command's own name still makes a table.
    if (const auto it = body.find(what); it != body.end() && it->is_array()) return generic_table(body, what);
    return body.dump(2) + "\n";
}

std::string human_bytes(std::uint64_t bytes) {
    static constexpr std::array<const char*, 5> units = {"B", "KiB", "MiB", "GiB", "TiB"};
    if (bytes < 1024) return fmt::format("{} B", bytes);
    auto value = static_cast<double>(bytes);
    std::size_t unit = 0;
    while (value >= 1024.0 && unit + 1 < units.size()) {
        value /= 1024.0;
        ++unit;
    }
    return fmt::format("{:.1f} {}", value, units.at(unit));
}

std::string human_bitrate(std::uint64_t bps) {
    if (bps < 1000) return fmt::format("{} bit/s", bps);
    if (bps < 1'000'000) return fmt::format("{:.1f} kbit/s", static_cast<double>(bps) / 1e3);
    return fmt::format("{:.1f} Mbit/s", static_cast<double>(bps) / 1e6);
}

std::string human_duration(double seconds) {
    if (seconds < 60.0) return fmt::format("{:.1f}s", seconds);
    const auto total = static_cast<std::uint64_t>(seconds);
    if (total < 3600) return fmt::format("{}m{:02}s", total / 60, total % 60);
    if (total < 86400) return fmt::format("{}h{:02}m", total / 3600, (total % 3600) / 60);
    return fmt::format("{}d{:02}h", total / 86400, (total % 86400) / 3600);
}

}  // namespace sg::ctl
