#pragma once
// A mount delivered to a multicast group (RFC 2326 §12.39): one stream per mount and address family, sent
// once to the group however many players joined it, as `streamgate serve` does for files.
//
// The group's stream is a player session of its own (the "group session"): its tracks send to the group's
// ports through the mount's shared fan-out port (fanout_port.hpp, with the group's TTL and interface set on
// it), with their own SSRC, sequence and timestamps, RTCP sender reports and a BYE at the end, and one
// session-end line ("rtsp player multicast G ..."). Members are player sessions that set up their tracks
// here instead of on their own ports: they send nothing themselves. The stream plays while at least one
// member plays (a live mount: a later member joins it where it is); when the last member is gone the group
// session ends and the group's address and ports go back to the range.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "multicast/allocator.hpp"

namespace sg::proxy {

class Mount;
class PlayerSession;

class MountMulticast {
public:
    // `allocator`: where the lease goes back at the end; null for a mount's configured group.
    MountMulticast(std::shared_ptr<Mount> mount, multicast::MulticastLease lease,
                   std::shared_ptr<multicast::MulticastAllocator> allocator,
                   multicast::MulticastSettings settings, std::size_t tracks);
    ~MountMulticast();
    MountMulticast(const MountMulticast&) = delete;
    MountMulticast& operator=(const MountMulticast&) = delete;

    const multicast::MulticastLease& lease() const noexcept { return lease_; }
    std::uint8_t ttl() const noexcept { return settings_.ttl; }
    std::uint16_t rtp_port(std::size_t track) const noexcept {
        return static_cast<std::uint16_t>(lease_.port_first + 2 * track);
    }

    // Sets up `track` of the group's stream on the first member's SETUP of it (idempotent); its SSRC, or
    // nothing with `error` when the track is out of the lease or the mount's port cannot send to the group.
    std::optional<std::uint32_t> set_up_track(std::size_t track, std::uint32_t clock_rate,
                                              bool wait_key_frame, std::string& error);

    // A member plays (the first starts the stream) / pauses or ends (the last pauses it).
    void join();
    void leave();

    // The group session: its tracks' rewriters give a member's PLAY its RTP-Info, and a first PLAY may leave
    // it a GOP-cache burst to send once the reply is out.
    const std::shared_ptr<PlayerSession>& stream() const noexcept { return session_; }

private:
    std::shared_ptr<Mount> mount_;
    multicast::MulticastLease lease_;
    std::shared_ptr<multicast::MulticastAllocator> allocator_;
    multicast::MulticastSettings settings_;
    std::shared_ptr<PlayerSession> session_;
    std::size_t playing_ = 0;
};

}  // namespace sg::proxy
