#include "relay/reply_cache.hpp"

#include <utility>

namespace sg::relay {

std::string ReplyCache::make_key(std::string_view source, std::string_view cookie) {
    // Length-prefixed so that ("a b", "c") and ("a", "b c") cannot meet.
    std::string key = std::to_string(source.size());
    key += ':';
    key.append(source);
    key.append(cookie);
    return key;
}

void ReplyCache::pop_oldest() {
    const Queued front = std::move(order_.front());
    order_.pop_front();
    const auto it = entries_.find(front.key);
    if (it == entries_.end() || it->second.generation != front.generation) return;  // stale record
    bytes_ -= cost(it->first, it->second.reply);
    entries_.erase(it);
}

void ReplyCache::expire(TimePoint now) {
    while (!order_.empty()) {
        const auto it = entries_.find(order_.front().key);
        const bool stale = it == entries_.end() || it->second.generation != order_.front().generation;
        if (!stale && it->second.expires > now) return;
        pop_oldest();
    }
}

const std::string* ReplyCache::find(std::string_view source, std::string_view cookie, TimePoint now) {
    expire(now);
    const auto it = entries_.find(make_key(source, cookie));
    if (it == entries_.end()) return nullptr;
    return &it->second.reply;
}

void ReplyCache::insert(std::string_view source, std::string_view cookie, std::string reply, TimePoint now) {
    expire(now);
    std::string key = make_key(source, cookie);
    if (const auto old = entries_.find(key); old != entries_.end()) {
        bytes_ -= cost(old->first, old->second.reply);
        entries_.erase(old);  // its record in order_ is now stale
    }
    const std::size_t size = cost(key, reply);
    if (size > limits_.max_bytes || limits_.max_entries == 0) return;

    const std::uint64_t generation = next_generation_++;
    order_.push_back(Queued{key, generation});
    entries_.emplace(std::move(key), Entry{std::move(reply), now + limits_.ttl, generation});
    bytes_ += size;

    while (entries_.size() > limits_.max_entries || bytes_ > limits_.max_bytes)
        pop_oldest();

    // A peer retransmitting one cookie over and over leaves stale records behind; drop them before they
    // outnumber the live entries.
    if (order_.size() > 2 * entries_.size() + 64) {
        std::deque<Queued> live;
        for (auto& q : order_) {
            const auto it = entries_.find(q.key);
            if (it != entries_.end() && it->second.generation == q.generation) live.push_back(std::move(q));
        }
        order_ = std::move(live);
    }
}

}  // namespace sg::relay
