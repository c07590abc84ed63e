#include "relay_io/relay_api.hpp"

#include <asio/co_spawn.hpp>
#include <asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>

#include "common/percent.hpp"
#include "common/text.hpp"
#include "relay/address.hpp"

namespace sg::relay_io {
namespace {

using metrics::ApiRequest;
using metrics::ApiResponse;
using nlohmann::json;

constexpr std::string_view k_calls_path = "/api/v1/relay/calls";
constexpr std::size_t k_default_page = 100;
constexpr std::size_t k_max_page = 1000;

ApiResponse json_response(int status, const json& body) {
    return ApiResponse{status, body.dump(2) + "\n", "application/json"};
}

ApiResponse error_response(int status, std::string_view message) {
    return json_response(status, json{{"error", message}});
}

json address_json(const relay::Address& address) {
    return json{{"family", relay::family_name(address.family)},
                {"address", relay::ip_to_string(address)},
                {"port", address.port}};
}

json report_json(const relay::CallReport& report) {
    json legs = json::array();
    for (const auto& leg : report.legs) {
        json streams = json::array();
        for (const auto& stream : leg.streams) {
            json s{{"index", stream.index},
                   {"media", stream.media},
                   {"local", address_json(stream.local)},
                   {"packets", stream.received.packets},
                   {"bytes", stream.received.bytes},
                   {"errors", stream.received.errors},
                   {"last_packet", stream.received.last_packet_unix}};
            s["announced"] = stream.announced ? address_json(*stream.announced) : json(nullptr);
            s["latched"] = stream.latched ? address_json(*stream.latched) : json(nullptr);
            streams.push_back(std::move(s));
        }
        legs.push_back(json{{"tag", leg.tag}, {"streams", std::move(streams)}});
    }
    return json{{"call_id", report.call_id},
                {"created", report.created_unix},
                {"last_signal", report.last_signal_unix},
                {"legs", std::move(legs)}};
}

// Runs `f(shard)` on the shard's thread. Only references are captured by the coroutine lambdas here: g++ 12
// mishandles coroutine lambdas that capture strings by value (the copy is freed twice), and the caller's
// frame outlives the call anyway.
template <class T, class F>
asio::awaitable<T> on_shard(Shard& shard, const F& f) {
    co_return co_await asio::co_spawn(
        shard.io(), [&shard, &f]() -> asio::awaitable<T> { co_return f(shard); }, asio::use_awaitable);
}

asio::awaitable<ApiResponse> status(const ApiContext& context) {
    std::uint64_t calls = 0;
    for (auto& shard : *context.shards)
        calls += shard->published().calls.load(std::memory_order_relaxed);
    const auto uptime =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - context.started);
    json body{{"service", "relay"},
              {"version", context.version},
              {"uptime_s", uptime.count()},
              {"event_loops", context.shards->size()},
              {"media_io", std::string(context.shards->front()->media_backend())},
              {"interfaces", context.interfaces},
              {"listeners", context.listeners},
              {"calls", calls}};
    if (!context.kernel_table.empty()) body["kernel_table"] = context.kernel_table;
    if (!context.kernel_note.empty()) body["kernel_note"] = context.kernel_note;
    co_return json_response(200, body);
}

asio::awaitable<ApiResponse> list_calls(const ApiContext& context, std::string_view query) {
    const auto page = metrics::page_request(query, k_default_page, k_max_page);
    if (!page) co_return error_response(400, "offset must be a number, limit a number from 1 to 1000");
    std::vector<std::pair<std::string, std::size_t>> ids;  // call-id, shard
    for (std::size_t i = 0; i < context.shards->size(); ++i) {
        auto& shard = *(*context.shards)[i];
        const auto get_ids = [](Shard& s) { return s.call_ids(); };
        const auto shard_ids = co_await on_shard<std::vector<std::string>>(shard, get_ids);
        for (const auto& id : shard_ids)
            ids.emplace_back(id, i);
    }
    std::sort(ids.begin(), ids.end());
    json calls = json::array();
    for (std::size_t i = page->offset; i < ids.size() && i - page->offset < page->limit; ++i) {
        const auto& [id, index] = ids[i];
        const auto get_report = [&id = id](Shard& s) { return s.report(id); };
        const auto report =
            co_await on_shard<std::optional<relay::CallReport>>(*(*context.shards)[index], get_report);
        if (report) calls.push_back(report_json(*report));  // it may have ended in between
    }
    co_return json_response(
        200, json{{"total", ids.size()}, {"offset", page->offset}, {"calls", std::move(calls)}});
}

asio::awaitable<ApiResponse> one_call(const ApiContext& context, const ApiRequest& request,
                                      std::string call_id) {
    auto& shard = *(*context.shards)[shard_of(call_id, context.shards->size())];
    if (request.method == "DELETE") {
        const auto end = [&call_id](Shard& s) { return s.terminate(call_id); };
        const bool ended = co_await on_shard<bool>(shard, end);
        if (!ended) co_return error_response(404, "no such call");
        co_return json_response(200, json{{"ended", call_id}});
    }
    const auto get_report = [&call_id](Shard& s) { return s.report(call_id); };
    const auto report = co_await on_shard<std::optional<relay::CallReport>>(shard, get_report);
    if (!report) co_return error_response(404, "no such call");
    co_return json_response(200, report_json(*report));
}

}  // namespace

std::string call_report_json(const relay::CallReport& report) {
    return report_json(report).dump();
}

void add_relay_api(metrics::AdminServer& admin, const ApiContext& context) {
    admin.add_api("/api/v1/status", [&context](ApiRequest request) -> asio::awaitable<ApiResponse> {
        if (request.method != "GET" || request.path != "/api/v1/status")
            co_return error_response(404, "not found");
        co_return co_await status(context);
    });
    admin.add_api(std::string(k_calls_path), [&context](ApiRequest request) -> asio::awaitable<ApiResponse> {
        std::string_view path = request.path;
        path.remove_prefix(k_calls_path.size());
        if (path.empty() || path == "/") {  // the list
            if (request.method != "GET") co_return error_response(405, "GET lists the calls");
            co_return co_await list_calls(context, request.query);
        }
        if (path.front() != '/') co_return error_response(404, "not found");
        path.remove_prefix(1);
        if (path.find('/') != std::string_view::npos) co_return error_response(404, "not found");
        const auto call_id = percent_decode(path);  // a '/' inside a Call-ID arrives as %2F
        if (!call_id || call_id->empty())
            co_return error_response(400, "the call-id in the path is not validly percent-encoded");
        if (request.method != "GET" && request.method != "DELETE")
            co_return error_response(405, "GET shows a call, DELETE ends it");
        co_return co_await one_call(context, request, *call_id);
    });
}

}  // namespace sg::relay_io
