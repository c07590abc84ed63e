#pragma once
// The relay's control front, on the main event loop: decodes a control message (any protocol), answers a
// retransmission from the reply cache instead of acting twice, hands the request to the shard that owns the
// call (or to every shard for list and statistics) and encodes the reply.

#include <asio/awaitable.hpp>
#include <atomic>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "net/rate_limited_log.hpp"
#include "relay/control.hpp"
#include "relay/reply_cache.hpp"
#include "relay_io/shard.hpp"

namespace sg::relay_io {

struct ControlCounters {
    std::atomic<std::uint64_t> requests{0};
    std::atomic<std::uint64_t> errors{0};  // answered with an error (bad message, unknown call, no ports)
    std::atomic<std::uint64_t> retransmissions{0};  // answered from the reply cache
};

class ControlFront {
public:
    explicit ControlFront(std::vector<std::unique_ptr<Shard>>& shards) : shards_(shards) {}

    // The reply to send back to `source` (its text form keys the reply cache), or "" for none. Runs on the
    // main loop; the request itself runs on its shard's thread.
    asio::awaitable<std::string> on_control(const relay::ControlProtocol& protocol, std::string message,
                                            std::string source);

    const ControlCounters& counters() const noexcept { return counters_; }

private:
    asio::awaitable<relay::Outcome> dispatch(const relay::Request& request);

    std::vector<std::unique_ptr<Shard>>& shards_;
    relay::ReplyCache cache_;
    std::set<std::string, std::less<>> unknown_flags_logged_;
    net::RateLimitedLog bad_request_log_{"relay control"};
    ControlCounters counters_;
};

}  // namespace sg::relay_io
