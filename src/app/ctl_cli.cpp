// `streamgate ctl`: the admin JSON API from a shell, as aligned tables (or the JSON itself with --json), like
// rtpengine-ctl and kamctl. One request per run; see docs/api.md for what each command asks.

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <iostream>
#include <map>
#include <memory>

#include "app/config.hpp"
#include "app/subcommand.hpp"
#include "common/percent.hpp"
#include "ctl/admin_client.hpp"
#include "ctl/ctl_tables.hpp"

namespace sg::app {
namespace {

struct CtlFlags {
    std::string admin = "127.0.0.1:9131";
    std::string token_file;
    bool json = false;
    double timeout_s = 5.0;
    std::size_t limit = 1000;
    std::size_t offset = 0;
    std::vector<std::string> words;  // the command and its arguments
};

// The list commands and the collections they read.
const std::map<std::string, std::string, std::less<>>& lists() {
    static const std::map<std::string, std::string, std::less<>> paths = {
        {"sessions", "/api/v1/socks/sessions"}, {"mounts", "/api/v1/rtsp/mounts"},
        {"players", "/api/v1/rtsp/players"},    {"relays", "/api/v1/alg/relays"},
        {"calls", "/api/v1/relay/calls"},       {"allocations", "/api/v1/turn/allocations"}};
    return paths;
}

// What `end KIND ID` deletes.
const std::map<std::string, std::string, std::less<>>& endable() {
    static const std::map<std::string, std::string, std::less<>> paths = {
        {"session", "/api/v1/socks/sessions/"},
        {"player", "/api/v1/rtsp/players/"},
        {"publisher", "/api/v1/rtsp/mounts/"},  // + MOUNT + /publisher
        {"call", "/api/v1/relay/calls/"},
        {"allocation", "/api/v1/turn/allocations/"}};
    return paths;
}

constexpr std::string_view k_usage =
    "usage: streamgate ctl [--admin HOST:PORT] [--token-file FILE] [--json] COMMAND\n"
    "commands: status | sessions | mounts | players | relays | calls | allocations |\n"
    "          end session|player|call|allocation ID | end publisher MOUNT | reload";

int fail(std::string_view message, int status = 1) {
    std::cerr << "streamgate ctl: " << message << '\n';
    return status;
}

// What to send for the words given; nullopt (usage printed) when they make no command.
std::optional<ctl::AdminRequest> build_request(const CtlFlags& flags, std::string& kind) {
    const auto& w = flags.words;
    if (w.empty()) return std::nullopt;
    ctl::AdminRequest request;
    kind = w[0];
    if (w[0] == "status" && w.size() == 1) {
        request.target = "/api/v1/status";
    } else if (const auto it = lists().find(w[0]); it != lists().end() && w.size() == 1) {
        request.target = fmt::format("{}?offset={}&limit={}", it->second, flags.offset, flags.limit);
    } else if (w[0] == "end" && w.size() == 3 && endable().contains(w[1])) {
        request.method = "DELETE";
        request.target = endable().find(w[1])->second + percent_encode(w[2]);
        if (w[1] == "publisher") request.target += "/publisher";
        kind = "end " + w[1];
    } else if (w[0] == "reload" && w.size() == 1) {
        request.method = "POST";
        request.target = "/api/v1/reload";
    } else {
        return std::nullopt;
    }
    return request;
}

int run_ctl(const CtlFlags& flags) {
    std::string kind;
    auto request = build_request(flags, kind);
    if (!request) return fail(k_usage, 2);
    const auto admin = net::parse_host_port(flags.admin);
    if (!admin) return fail(fmt::format("--admin {}: {}", flags.admin, admin.error()), 2);
    if (!flags.token_file.empty()) {
        std::string error;
        auto token = read_admin_token(flags.token_file, error);
        if (!token) return fail(fmt::format("--token-file {}", error), 2);
        request->token = std::move(*token);
    }
    std::string error;
    const auto timeout = std::chrono::milliseconds(static_cast<std::int64_t>(flags.timeout_s * 1000));
    const auto response = ctl::call_admin(*admin, *request, timeout, error);
    if (!response) return fail(error);
    if (flags.json) std::cout << response->body;
    if (response->status == 422 && kind == "reload") {
        return fail("reload refused, the running configuration stays: " + ctl::describe_api_error(*response));
    }
    if (response->status == 404 && kind.starts_with("end ")) {
        return fail(fmt::format("no such {} '{}' ({})", flags.words[1], flags.words[2],
                                ctl::describe_api_error(*response)));
    }
    if (response->status != 200) return fail(ctl::describe_api_error(*response));
    if (flags.json) return 0;
    const auto body = nlohmann::json::parse(response->body, nullptr, false);
    if (body.is_discarded()) return fail("the answer is not JSON");
    if (kind.starts_with("end ")) {
        std::cout << fmt::format("ended {} {}\n", flags.words[1], flags.words[2]);
    } else if (kind == "reload") {
        std::string changes;
        if (const auto c = body.find("changes"); c != body.end() && c->is_array())
            for (const auto& change : *c)
                changes += (changes.empty() ? "" : ", ") + change.get<std::string>();
        std::cout << "configuration reloaded; changed: " << (changes.empty() ? "nothing" : changes) << '\n';
    } else {
        std::cout << ctl::render(kind, body);
    }
    return 0;
}

}  // namespace

Subcommand add_ctl_command(CLI::App& app) {
    auto* ctl = app.add_subcommand(
        "ctl", "Show and act on what a running gateway, relay or TURN server does (admin JSON API)");
    auto flags = std::make_shared<CtlFlags>();
    ctl->add_option("--admin", flags->admin, "The admin listener HOST:PORT (default: 127.0.0.1:9131)");
    ctl->add_option("--token-file", flags->token_file,
                    "File whose first line is the admin token (needed by end and reload)");
    ctl->add_flag("--json", flags->json, "Print the API's JSON answer instead of a table");
    ctl->add_option("--timeout", flags->timeout_s, "Seconds to wait for the answer (default: 5)")
        ->check(CLI::PositiveNumber);
    ctl->add_option("--limit", flags->limit, "Lists: at most this many items (1-1000, default 1000)")
        ->check(CLI::Range(1, 1000));
    ctl->add_option("--offset", flags->offset, "Lists: skip this many items first");
    ctl->add_option("command", flags->words,
                    "status | sessions | mounts | players | relays | calls | allocations | "
                    "end session|player|call|allocation ID | end publisher MOUNT | reload")
        ->required();
    ctl->footer(std::string(k_usage));
    return {ctl, [flags] { return run_ctl(*flags); }};
}

}  // namespace sg::app
