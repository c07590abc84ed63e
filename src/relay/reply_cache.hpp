#pragma once
// The control protocols' retransmission guard. A SIP proxy that does not hear back within its timeout
// (Kamailio's rtpengine_tout_ms, rtpproxy_tout) sends the same datagram again with the same cookie; the
// relay must answer it with the reply it already sent and must not act twice (a second "offer" would
// allocate a second set of ports). rtpengine keeps replies for 30 seconds; so do we by default.
//
// The key is (requester address, cookie): two proxies may well pick the same cookie. Bounded in entries
// and bytes (the oldest entries go first), entries expire after a TTL; time is passed in (`now`), so the
// cache is pure and tests need no clock.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>

namespace sg::relay {

class ReplyCache {
public:
    using Clock = std::chrono::steady_clock;
    using TimePoint = Clock::time_point;

    struct Limits {
        std::size_t max_entries = 65536;
        std::size_t max_bytes = std::size_t{32} * 1024 * 1024;  // keys and replies together
        std::chrono::milliseconds ttl{30'000};
    };

    ReplyCache() : ReplyCache(Limits{}) {}
    explicit ReplyCache(Limits limits) : limits_(limits) {}

    // The reply sent to `source` for `cookie`, if it is still fresh. The pointer stays valid until the
    // next call that modifies the cache.
    const std::string* find(std::string_view source, std::string_view cookie, TimePoint now);

    // Remembers the reply (replacing an older one for the same key). A reply larger than the whole byte
    // budget is not kept.
    void insert(std::string_view source, std::string_view cookie, std::string reply, TimePoint now);

    // Drops every entry whose TTL has passed (find and insert do this as they go).
    void expire(TimePoint now);

    std::size_t size() const noexcept { return entries_.size(); }
    std::size_t bytes() const noexcept { return bytes_; }

private:
    struct Entry {
        std::string reply;
        TimePoint expires;
        std::uint64_t generation = 0;  // tells a live entry from an older one left in order_
    };
    struct Queued {
        std::string key;
        std::uint64_t generation = 0;
    };

    static std::string make_key(std::string_view source, std::string_view cookie);
    static std::size_t cost(const std::string& key, const std::string& reply) noexcept {
        return key.size() + reply.size();
    }
    void pop_oldest();

    Limits limits_;
    std::unordered_map<std::string, Entry> entries_;
    // Insertion order; with one TTL for everything it is also expiry order. Replaced entries leave a stale
    // record here, skipped by generation and bounded by compact-on-pop.
    std::deque<Queued> order_;
    std::size_t bytes_ = 0;
    std::uint64_t next_generation_ = 1;
};

}  // namespace sg::relay
