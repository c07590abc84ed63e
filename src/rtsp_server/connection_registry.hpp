#pragma once
// The open connections of an RTSP listener, for what the operator or a shutdown does to all of them (close
// them so that their sessions log their ends, list or end a player). It holds weak references, so it never
// keeps a connection alive; gone ones are pruned as new ones come, so it stays as long as the live ones.
// Locked, because `streamgate serve` accepts on several event loops; callers act on the snapshot live()
// returns, outside the lock (closing a connection may run its own code synchronously).

#include <memory>
#include <mutex>
#include <vector>

namespace sg::server {

template <class Connection>
class ConnectionRegistry {
public:
    void add(const std::shared_ptr<Connection>& connection) {
        const std::lock_guard lock(mutex_);
        std::erase_if(connections_, [](const std::weak_ptr<Connection>& c) { return c.expired(); });
        connections_.push_back(connection);
    }

    // The connections still open, in the order they came.
    std::vector<std::shared_ptr<Connection>> live() const {
        const std::lock_guard lock(mutex_);
        return live_locked();
    }

    // Forgets every connection (for a shutdown that closes them), and returns the ones still open.
    std::vector<std::shared_ptr<Connection>> take() {
        const std::lock_guard lock(mutex_);
        auto out = live_locked();
        connections_.clear();
        return out;
    }

private:
    std::vector<std::shared_ptr<Connection>> live_locked() const {
        std::vector<std::shared_ptr<Connection>> out;
        out.reserve(connections_.size());
        for (const auto& weak : connections_)
            if (auto connection = weak.lock()) out.push_back(std::move(connection));
        return out;
    }

    mutable std::mutex mutex_;
    std::vector<std::weak_ptr<Connection>> connections_;
};

}  // namespace sg::server
