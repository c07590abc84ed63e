#pragma once
// Multicast delivery of `streamgate serve`: one stream per presentation (file path) and address family,
// sent once to a group however many players joined it.
//
// Semantics (documented in docs/serve.md): players sharing a group share one live-like stream. The group
// is created by the first multicast SETUP of its path and family; it streams while at least one member
// is playing (the first PLAY starts it from the beginning of the file, later PLAYs join it where it is,
// and a Range is not a seek); when the last playing member pauses, the stream pauses; when the last
// member ends (TEARDOWN, timeout, disconnect) the group sends its RTCP BYE, closes its sockets and its
// address and ports go back to the range.
//
// Threads: the group's streaming engine (a Session whose tracks send to the group instead of a client)
// lives on the event loop of the player that created the group; members on other loops reach it through
// that loop's executor. Membership is counted under the registry's lock, per request, never per packet.

#include <asio/any_io_executor.hpp>
#include <asio/ip/address.hpp>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "multicast/allocator.hpp"
#include "server/session.hpp"
#include "server/udp_ports.hpp"

namespace sg::server {

struct MulticastKey {
    std::string path;
    bool v6 = false;

    friend auto operator<=>(const MulticastKey&, const MulticastKey&) = default;
};

// What a member's SETUP answers for one track (default-constructible: it crosses loops through co_spawn).
struct MulticastTrack {
    bool ok = false;
    std::uint16_t rtp_port = 0;
    std::uint32_t ssrc = 0;
};

class MulticastGroup {
public:
    MulticastGroup(MulticastKey key, multicast::MulticastLease lease, std::shared_ptr<Session> engine);

    const MulticastKey& key() const noexcept { return key_; }
    const multicast::MulticastLease& lease() const noexcept { return lease_; }
    asio::any_io_executor executor() const { return engine_executor_; }

    // The rest runs on executor().
    // Opens the track's sending sockets on the first SETUP of it (idempotent).
    MulticastTrack set_up_track(std::size_t track, UdpPortAllocator& ports,
                                const multicast::MulticastSettings& settings);
    PlayPosition start_playing();  // one more member playing; the first starts the stream
    void stop_playing();           // one fewer; the last pauses the stream
    PlayPosition position() const { return engine_->position_now(); }
    SessionStats end();  // the last member is gone: BYE, sockets closed

private:
    friend class MulticastRegistry;
    MulticastKey key_;
    multicast::MulticastLease lease_;
    std::shared_ptr<Session> engine_;
    asio::any_io_executor engine_executor_;
    std::size_t members_ = 0;  // under the registry's lock
    std::size_t playing_ = 0;  // on executor()
};

class MulticastRegistry {
public:
    explicit MulticastRegistry(multicast::MulticastSettings settings);

    const multicast::MulticastSettings& settings() const noexcept { return allocator_.settings(); }
    bool enabled_for(bool v6) const noexcept { return settings().enabled_for(v6); }

    // Joins the key's group if there is one (one more member); nullptr otherwise.
    std::shared_ptr<MulticastGroup> join_existing(const MulticastKey& key);
    // Joins the key's group, creating it around `engine` (a fresh Session on `engine`'s executor) when
    // there is none; nullptr when the range has no free group or ports.
    std::shared_ptr<MulticastGroup> join_or_create(const MulticastKey& key, std::shared_ptr<Session> engine);
    // A member's PAUSE (when it was playing).
    void pause(const std::shared_ptr<MulticastGroup>& group);
    // A member's end; the last one ends the group.
    void leave(const std::shared_ptr<MulticastGroup>& group, bool was_playing);
    // Drops every group (at shutdown, while the event loops still exist).
    void clear();

    // For the metrics.
    std::atomic<std::uint64_t> members_joined{0};  // multicast sessions
    std::atomic<std::uint64_t> groups_started{0};
    std::atomic<std::uint64_t> groups_ended{0};
    std::atomic<std::uint64_t> packets{0};  // RTP sent by ended groups
    std::atomic<std::uint64_t> bytes{0};

private:
    std::mutex mutex_;
    multicast::MulticastAllocator allocator_;
    std::map<MulticastKey, std::shared_ptr<MulticastGroup>> groups_;
};

}  // namespace sg::server
