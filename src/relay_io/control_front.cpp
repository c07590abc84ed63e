#include "relay_io/control_front.hpp"

#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/use_awaitable.hpp>

namespace sg::relay_io {
namespace {

// Unknown flag names are remembered so each is logged once; a peer sending endless new names must not
// grow the set without bound.
constexpr std::size_t k_max_logged_flags = 256;

}  // namespace

asio::awaitable<relay::Outcome> ControlFront::dispatch(const relay::Request& request) {
    switch (request.op) {
        case relay::Op::ping:
        case relay::Op::version:
        case relay::Op::version_feature:
            co_return relay::Outcome{};
        case relay::Op::list: {
            relay::Outcome outcome;
            for (auto& shard : shards_) {
                auto ids = co_await asio::co_spawn(
                    shard->io(),
                    [&shard]() -> asio::awaitable<std::vector<std::string>> { co_return shard->call_ids(); },
                    asio::use_awaitable);
                outcome.call_ids.insert(outcome.call_ids.end(), ids.begin(), ids.end());
            }
            co_return outcome;
        }
        case relay::Op::statistics: {
            relay::GlobalStatistics sum;
            for (auto& shard : shards_) {
                const auto s = co_await asio::co_spawn(
                    shard->io(),
                    [&shard]() -> asio::awaitable<relay::GlobalStatistics> { co_return shard->statistics(); },
                    asio::use_awaitable);
                sum.current_calls += s.current_calls;
                sum.total_calls += s.total_calls;
                sum.timed_out_calls += s.timed_out_calls;
                sum.relayed_packets += s.relayed_packets;
                sum.relayed_bytes += s.relayed_bytes;
                sum.dropped_packets += s.dropped_packets;
                sum.ports_in_use += s.ports_in_use;
                sum.ports_free += s.ports_free;
            }
            relay::Outcome outcome;
            outcome.statistics = sum;
            co_return outcome;
        }
        default:
            break;
    }
    auto& shard = *shards_[shard_of(request.call_id, shards_.size())];
    co_return co_await asio::co_spawn(
        shard.io(),
        [&shard, &request]() -> asio::awaitable<relay::Outcome> { co_return shard.handle(request); },
        asio::use_awaitable);
}

asio::awaitable<std::string> ControlFront::on_control(const relay::ControlProtocol& protocol,
                                                      std::string message, std::string source) {
    const auto now = std::chrono::steady_clock::now();
    relay::Decoded decoded = protocol.decode(message);
    if (!decoded.request && decoded.reply.empty()) {
        bad_request_log_.warn("relay: {} message from {} not answered: {}", protocol.name(), source,
                              decoded.error);
        co_return "";
    }
    const bool cached_transport = !decoded.cookie.empty();
    if (const auto* cached = cached_transport ? cache_.find(source, decoded.cookie, now) : nullptr) {
        counters_.retransmissions.fetch_add(1, std::memory_order_relaxed);
        co_return *cached;
    }
    counters_.requests.fetch_add(1, std::memory_order_relaxed);
    std::string reply;
    if (!decoded.request) {
        counters_.errors.fetch_add(1, std::memory_order_relaxed);
        bad_request_log_.warn("relay: bad {} request from {}: {}", protocol.name(), source, decoded.error);
        reply = std::move(decoded.reply);
    } else {
        for (const auto& flag : decoded.unknown_flags) {
            if (unknown_flags_logged_.size() < k_max_logged_flags &&
                unknown_flags_logged_.insert(flag).second)
                spdlog::info("relay: {} flag \"{}\" is not acted on here; ignored", protocol.name(), flag);
        }
        const relay::Outcome outcome = co_await dispatch(*decoded.request);
        if (outcome.error) {
            counters_.errors.fetch_add(1, std::memory_order_relaxed);
            bad_request_log_.warn("relay: {} request from {} for call {} failed: {}", protocol.name(), source,
                                  decoded.request->call_id, *outcome.error);
        }
        reply = protocol.encode(decoded.cookie, *decoded.request, outcome);
    }
    // Each control socket handles one message at a time, so a retransmission (same source, same socket)
    // is read only after this reply is cached, and is answered from the cache.
    if (cached_transport) cache_.insert(source, decoded.cookie, reply, std::chrono::steady_clock::now());
    co_return reply;
}

}  // namespace sg::relay_io
