#include "turn/turn_api.hpp"

#include <spdlog/spdlog.h>

#include <asio/awaitable.hpp>

#include "common/percent.hpp"

namespace sg::turn {
namespace {

using metrics::ApiRequest;
using metrics::ApiResponse;
using nlohmann::json;

constexpr std::string_view k_status = "/api/v1/status";
constexpr std::string_view k_allocations = "/api/v1/turn/allocations";

ApiResponse json_response(int status, const json& body) {
    return ApiResponse{status, body.dump(2) + "\n", "application/json"};
}

ApiResponse error_response(int status, std::string_view message) {
    return json_response(status, json{{"error", message}});
}

double seconds(std::chrono::steady_clock::duration d) {
    return static_cast<double>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) / 1000.0;
}

json traffic_json(const Traffic& t) {
    return json{{"packets", t.packets}, {"bytes", t.bytes}};
}

ApiResponse status(const TurnApiContext& c) {
    return json_response(200, json{{"service", "turn"},
                                   {"version", c.version},
                                   {"uptime_s", seconds(std::chrono::steady_clock::now() - c.started)},
                                   {"listeners", c.listeners},
                                   {"allocations", c.allocations().size()}});
}

ApiResponse allocations(const TurnApiContext& c, const ApiRequest& request) {
    std::string_view rest = request.path;
    rest.remove_prefix(k_allocations.size());
    const auto all = c.allocations();
    if (rest.empty() || rest == "/") {
        if (request.method != "GET") return error_response(405, "GET lists the allocations");
        const auto page = metrics::page_request(request.query);
        if (!page) return error_response(400, "offset must be a number, limit a number from 1 to 1000");
        json list = json::array();
        for (std::size_t i = page->offset; i < all.size() && i - page->offset < page->limit; ++i)
            list.push_back(allocation_json(all[i]));
        return json_response(200,
                             json{{"total", all.size()}, {"offset", page->offset}, {"allocations", list}});
    }
    if (rest.front() != '/') return error_response(404, "not found");
    rest.remove_prefix(1);
    const auto id = percent_decode(rest);
    if (!id || id->empty() || id->find('/') != std::string::npos) return error_response(404, "not found");
    // Named by either relayed address of the allocation.
    const AllocationInfo* found = nullptr;
    for (const auto& a : all)
        if (stun::to_string(a.relayed) == *id ||
            (a.relayed_other && stun::to_string(*a.relayed_other) == *id))
            found = &a;
    if (found == nullptr) return error_response(404, "no such allocation");
    if (request.method == "DELETE") {
        if (!c.end(found->relayed)) return error_response(404, "no such allocation");
        spdlog::info("admin api: turn allocation {} ended by operator", *id);
        return json_response(200, json{{"ended", *id}});
    }
    if (request.method != "GET") return error_response(405, "GET shows an allocation, DELETE ends it");
    return json_response(200, allocation_json(*found));
}

}  // namespace

json allocation_json(const AllocationInfo& a) {
    return json{{"id", stun::to_string(a.relayed)},
                {"user", a.user},
                {"client", stun::to_string(a.client)},
                {"transport", transport_name(a.transport)},
                {"relayed", stun::to_string(a.relayed)},
                {"relayed_other", a.relayed_other ? json(stun::to_string(*a.relayed_other)) : json(nullptr)},
                {"permissions", a.permissions},
                {"channels", a.channels},
                {"to_peer", traffic_json(a.to_peer)},
                {"to_client", traffic_json(a.to_client)},
                {"age_s", seconds(a.age)},
                {"expires_in_s", seconds(a.expires_in)}};
}

void add_turn_api(metrics::AdminServer& admin, const TurnApiContext& context) {
    // Only references are captured: g++ 12 mishandles coroutine lambdas that capture strings by value.
    admin.add_api(std::string(k_status), [&context](ApiRequest request) -> asio::awaitable<ApiResponse> {
        if (request.path != k_status) co_return error_response(404, "not found");
        if (request.method != "GET") co_return error_response(405, "GET shows the status");
        co_return status(context);
    });
    admin.add_api(std::string(k_allocations), [&context](ApiRequest request) -> asio::awaitable<ApiResponse> {
        co_return allocations(context, request);
    });
}

}  // namespace sg::turn
