#pragma once
// The relay's control half: turns a control message (any protocol) into an action on the call table and a
// reply, answers a retransmission from the reply cache instead of acting twice, logs each ended call and
// keeps the counters the metrics expose. Shared by every control listener of one event loop.

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "net/rate_limited_log.hpp"
#include "relay/call_table.hpp"
#include "relay/control.hpp"
#include "relay/reply_cache.hpp"

namespace sg::relay_io {

struct ControlCounters {
    std::uint64_t requests = 0;
    std::uint64_t errors = 0;           // answered with an error (bad message, unknown call, no ports)
    std::uint64_t retransmissions = 0;  // answered from the reply cache
    std::uint64_t calls_ended_deleted = 0;
    std::uint64_t calls_ended_timeout = 0;
    std::uint64_t calls_ended_other = 0;
};

class RelayCore {
public:
    explicit RelayCore(relay::CallTable& table);

    // The reply to send back to `source` (its text form keys the reply cache), or "" for none.
    std::string on_control(const relay::ControlProtocol& protocol, std::string_view message,
                           std::string_view source);

    // Ends calls whose media stopped; call once a second or so.
    void expire();
    // Ends every call, logging each (shutdown).
    void shutdown();

    const ControlCounters& counters() const noexcept { return counters_; }

private:
    void log_ended(std::vector<relay::EndedCall>& ended);

    relay::CallTable& table_;
    relay::ReplyCache cache_;
    std::set<std::string, std::less<>> unknown_flags_logged_;
    net::RateLimitedLog bad_request_log_{"relay control"};
    ControlCounters counters_;
};

std::int64_t wall_seconds();

}  // namespace sg::relay_io
