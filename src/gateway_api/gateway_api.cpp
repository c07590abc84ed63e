#include "gateway_api/gateway_api.hpp"

#include <spdlog/spdlog.h>

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/use_awaitable.hpp>
#include <limits>
#include <nlohmann/json.hpp>

#include "alg_relay/rtsp_alg.hpp"
#include "common/percent.hpp"
#include "common/text.hpp"
#include "gateway_api/gateway_json.hpp"
#include "proxy/rtsp_proxy.hpp"
#include "socks/server.hpp"

namespace sg::gateway_api {
namespace {

using metrics::ApiRequest;
using metrics::ApiResponse;
using nlohmann::json;

constexpr std::string_view k_status = "/api/v1/status";
constexpr std::string_view k_sessions = "/api/v1/socks/sessions";
constexpr std::string_view k_mounts = "/api/v1/rtsp/mounts";
constexpr std::string_view k_players = "/api/v1/rtsp/players";
constexpr std::string_view k_alg_relays = "/api/v1/alg/relays";
constexpr std::string_view k_reload = "/api/v1/reload";
constexpr std::string_view k_bad_page = "offset must be a number, limit a number from 1 to 1000";

ApiResponse json_response(int status, const json& body) {
    return ApiResponse{status, body.dump(2) + "\n", "application/json"};
}

ApiResponse error_response(int status, std::string_view message) {
    return json_response(status, json{{"error", message}});
}

// What a path under a collection's prefix names: the collection ("" or "/"), one item ("/ID",
// percent-decoded), or nothing (deeper paths, bad escapes).
struct Route {
    enum class Kind : std::uint8_t { list, item, none } kind = Kind::none;
    std::string id;
};

Route route_of(std::string_view path, std::string_view prefix) {
    path.remove_prefix(prefix.size());
    if (path.empty() || path == "/") return {Route::Kind::list, {}};
    if (path.front() != '/') return {};
    path.remove_prefix(1);
    if (path.find('/') != std::string_view::npos) return {};
    auto id = percent_decode(path);
    if (!id || id->empty()) return {};
    return {Route::Kind::item, std::move(*id)};
}

// The ALG's media relays run on the SOCKS sessions' loops: each loop's are read on that loop's thread.
asio::awaitable<std::vector<alg::MediaRelaySnapshot>> relays_on(const alg::RtspAlg& alg,
                                                                const asio::io_context& loop) {
    co_return alg.relays(&loop);
}

asio::awaitable<std::vector<alg::MediaRelaySnapshot>> all_relays(const GatewayApiContext& c) {
    std::vector<alg::MediaRelaySnapshot> all;
    if (c.alg == nullptr) co_return all;
    if (c.loops.empty()) co_return c.alg->relays();  // one loop, this one
    for (auto* loop : c.loops) {
        auto part = co_await asio::co_spawn(*loop, relays_on(*c.alg, *loop), asio::use_awaitable);
        all.insert(all.end(), std::make_move_iterator(part.begin()), std::make_move_iterator(part.end()));
    }
    co_return all;
}

ApiResponse status(const GatewayApiContext& c, std::size_t alg_relays) {
    const auto uptime = std::chrono::steady_clock::now() - c.started;
    json reload = nullptr;
    if (c.last_reload_unix != 0) {
        reload = json{{"at", c.last_reload_unix}, {"applied", c.last_reload.applied}};
        if (c.last_reload.applied) {
            reload["changes"] = c.last_reload.changes;
        } else {
            reload["error"] = c.last_reload.error;
        }
    }
    json body{{"service", "gateway"},
              {"version", c.version},
              {"uptime_s", seconds(uptime)},
              {"listeners", c.listeners},
              {"config_file", c.config_file.empty() ? json(nullptr) : json(c.config_file)},
              {"last_reload", std::move(reload)},
              {"socks_sessions", c.socks != nullptr ? c.socks->active_sessions() : 0},
              {"rtsp_mounts", c.rtsp != nullptr ? c.rtsp->mounts().size() : 0},
              {"rtsp_players", c.rtsp != nullptr ? c.rtsp->players().size() : 0},
              {"alg_relays", alg_relays}};
    return json_response(200, body);
}

asio::awaitable<ApiResponse> sessions(const GatewayApiContext& c, const ApiRequest& request) {
    const Route route = route_of(request.path, k_sessions);
    if (route.kind == Route::Kind::list) {
        if (request.method != "GET") co_return error_response(405, "GET lists the sessions");
        const auto page = metrics::page_request(request.query);
        if (!page) co_return error_response(400, k_bad_page);
        const auto found = co_await c.socks->sessions(page->offset, page->limit);
        json list = json::array();
        for (const auto& s : found.sessions)
            list.push_back(session_json(s));
        co_return json_response(200,
                                json{{"total", found.total}, {"offset", page->offset}, {"sessions", list}});
    }
    const auto id = route.kind == Route::Kind::item ? parse_uint<std::uint64_t>(route.id) : std::nullopt;
    if (!id) co_return error_response(404, "not found");
    if (request.method == "DELETE") {
        if (!co_await c.socks->end_session(*id)) co_return error_response(404, "no such session");
        spdlog::info("admin api: socks session {} ended by operator", *id);
        co_return json_response(200, json{{"ended", *id}});
    }
    if (request.method != "GET") co_return error_response(405, "GET shows a session, DELETE ends it");
    const auto all = co_await c.socks->sessions(0, std::numeric_limits<std::size_t>::max());
    for (const auto& s : all.sessions)
        if (s.id == *id) co_return json_response(200, session_json(s));
    co_return error_response(404, "no such session");
}

// DELETE /api/v1/rtsp/mounts/{name}/publisher: ends a publish mount's publisher.
ApiResponse mount_publisher(const GatewayApiContext& c, const ApiRequest& request, std::string_view path) {
    const Route route = route_of(path, k_mounts);
    if (route.kind != Route::Kind::item) return error_response(404, "not found");
    if (request.method != "DELETE") return error_response(405, "DELETE ends the mount's publisher");
    if (c.rtsp == nullptr || !c.rtsp->end_publisher(route.id))
        return error_response(404, "no publisher on this mount");
    spdlog::info("admin api: rtsp mount {} publisher ended by operator", route.id);
    return json_response(200, json{{"ended", "publisher"}, {"mount", route.id}});
}

ApiResponse mounts(const GatewayApiContext& c, const ApiRequest& request) {
    constexpr std::string_view k_publisher = "/publisher";
    if (std::string_view path = request.path; path.ends_with(k_publisher)) {
        path.remove_suffix(k_publisher.size());
        return mount_publisher(c, request, path);
    }
    const Route route = route_of(request.path, k_mounts);
    if (route.kind == Route::Kind::none) return error_response(404, "not found");
    if (request.method != "GET") return error_response(405, "GET lists the mounts");
    const auto all = c.rtsp != nullptr ? c.rtsp->mounts() : std::vector<proxy::MountSnapshot>{};
    if (route.kind == Route::Kind::item) {
        for (const auto& m : all)
            if (m.name == route.id) return json_response(200, mount_json(m));
        return error_response(404, "no such mount");
    }
    const auto page = metrics::page_request(request.query);
    if (!page) return error_response(400, k_bad_page);
    return json_response(200, page_json("mounts", all, *page, mount_json));
}

ApiResponse players(const GatewayApiContext& c, const ApiRequest& request) {
    const Route route = route_of(request.path, k_players);
    if (route.kind == Route::Kind::none) return error_response(404, "not found");
    if (route.kind == Route::Kind::item && request.method == "DELETE") {
        if (c.rtsp == nullptr || !c.rtsp->end_player(route.id)) return error_response(404, "no such player");
        spdlog::info("admin api: rtsp player session {} ended by operator", route.id);
        return json_response(200, json{{"ended", route.id}});
    }
    if (request.method != "GET") {
        return error_response(405, route.kind == Route::Kind::list ? "GET lists the players"
                                                                   : "GET shows a player, DELETE ends it");
    }
    const auto all = c.rtsp != nullptr ? c.rtsp->players() : std::vector<proxy::PlayerSnapshot>{};
    if (route.kind == Route::Kind::item) {
        for (const auto& p : all)
            if (p.id == route.id) return json_response(200, player_json(p));
        return error_response(404, "no such player");
    }
    const auto page = metrics::page_request(request.query);
    if (!page) return error_response(400, k_bad_page);
    return json_response(200, page_json("players", all, *page, player_json));
}

asio::awaitable<ApiResponse> alg_relays(const GatewayApiContext& c, const ApiRequest& request) {
    if (route_of(request.path, k_alg_relays).kind != Route::Kind::list)
        co_return error_response(404, "not found");
    if (request.method != "GET") co_return error_response(405, "GET lists the relays");
    const auto page = metrics::page_request(request.query);
    if (!page) co_return error_response(400, k_bad_page);
    const auto all = co_await all_relays(c);
    co_return json_response(200, page_json("relays", all, *page, alg_relay_json));
}

ApiResponse reload(GatewayApiContext& c, const ApiRequest& request) {
    if (request.path != k_reload) return error_response(404, "not found");
    if (request.method != "POST") return error_response(405, "POST reloads the configuration");
    const ReloadOutcome outcome = c.reload();
    if (!outcome.applied) {
        // 422: the request was fine, the file it points at is not; the running configuration stays.
        return json_response(422,
                             json{{"applied", false}, {"error", "configuration refused: " + outcome.error}});
    }
    return json_response(200, json{{"applied", true}, {"changes", outcome.changes}});
}

}  // namespace

void add_gateway_api(metrics::AdminServer& admin, GatewayApiContext& context) {
    // Only references are captured: g++ 12 mishandles coroutine lambdas that capture strings by value.
    admin.add_api(std::string(k_status), [&context](ApiRequest request) -> asio::awaitable<ApiResponse> {
        if (request.path != k_status) co_return error_response(404, "not found");
        if (request.method != "GET") co_return error_response(405, "GET shows the status");
        const auto relays = co_await all_relays(context);
        co_return status(context, relays.size());
    });
    admin.add_api(std::string(k_sessions), [&context](ApiRequest request) -> asio::awaitable<ApiResponse> {
        co_return co_await sessions(context, request);
    });
    admin.add_api(std::string(k_mounts), [&context](ApiRequest request) -> asio::awaitable<ApiResponse> {
        co_return mounts(context, request);
    });
    admin.add_api(std::string(k_players), [&context](ApiRequest request) -> asio::awaitable<ApiResponse> {
        co_return players(context, request);
    });
    admin.add_api(std::string(k_alg_relays), [&context](ApiRequest request) -> asio::awaitable<ApiResponse> {
        co_return co_await alg_relays(context, request);
    });
    admin.add_api(std::string(k_reload), [&context](ApiRequest request) -> asio::awaitable<ApiResponse> {
        co_return reload(context, request);
    });
}

}  // namespace sg::gateway_api
