#pragma once
// The gateway's admin API objects as JSON (docs/api.md): one function per snapshot the modules hand out, and
// the paged list around them. Pure: snapshots in, nlohmann::json out, so the shapes are unit-tested without
// a running gateway.

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <string_view>
#include <vector>

#include "alg_relay/media_relay.hpp"
#include "metrics/admin_server.hpp"
#include "proxy/mount.hpp"
#include "proxy/player_session.hpp"
#include "socks/server.hpp"

namespace sg::gateway_api {

nlohmann::json session_json(const socks::SessionSnapshot& session);
nlohmann::json mount_json(const proxy::MountSnapshot& mount);
nlohmann::json player_json(const proxy::PlayerSnapshot& player);
nlohmann::json alg_relay_json(const alg::MediaRelaySnapshot& relay);

// Seconds with millisecond precision, as every age and duration in the API.
double seconds(std::chrono::steady_clock::duration d);

// {"total": N, "offset": O, "<key>": [the page of items]}; `items` holds everything, already in order.
template <class T, class ToJson>
nlohmann::json page_json(std::string_view key, const std::vector<T>& items, const metrics::PageRequest& page,
                         ToJson to_json) {
    nlohmann::json list = nlohmann::json::array();
    for (std::size_t i = page.offset; i < items.size() && i - page.offset < page.limit; ++i)
        list.push_back(to_json(items[i]));
    return nlohmann::json{{"total", items.size()}, {"offset", page.offset}, {key, std::move(list)}};
}

}  // namespace sg::gateway_api
