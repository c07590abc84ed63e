#pragma once
// Forwarding in the kernel: rtpengine forwards a call's media in its own kernel module once both ends are
// known; streamgate asks the kernel's packet filter (nftables) to do the same (relay_io/nft_forwarder.hpp).
// Userspace keeps every decision: the call table says which directions the kernel may take over
// (a KernelFlow each) and takes them back the moment a packet would need userspace again (recording, play
// media, a hold, a new latch). Anything the kernel does not match (another source, a rebinding NAT, the
// other address family) still reaches the relay's socket, so userspace sees what it must decide on.

#include <cstdint>
#include <span>
#include <vector>

#include "relay/request.hpp"

namespace sg::relay {

// One direction of one component (RTP or RTCP) of one side: datagrams from `source` to the relay's `local`
// leave from the relay's `out_local` to `destination`. Identified by the socket they arrive on.
struct KernelFlow {
    std::uint32_t socket_id = 0;
    Address source;       // the latched peer (address and port)
    Address local;        // where it sends to: the relay's address and port
    Address out_local;    // where the other side hears the relay: the relay's address and port
    Address destination;  // the other side (latched or announced)
    bool operator==(const KernelFlow&) const = default;
};

// What the kernel forwarded for one flow since it was installed.
struct KernelCount {
    std::uint32_t socket_id = 0;
    std::uint64_t packets = 0;
    std::uint64_t bytes = 0;
};

// The kernel's side; the I/O layer implements it, unit tests fake it. Calls may be queued and applied later:
// until then, and if the kernel refuses them, packets simply keep reaching userspace.
class KernelForwarder {
public:
    virtual ~KernelForwarder() = default;
    // Starts forwarding `flow`, replacing any flow of the same socket. Its counters start at zero.
    virtual void install(const KernelFlow& flow) = 0;
    // Stops forwarding the flow of `socket_id` (a no-op when there is none).
    virtual void remove(std::uint32_t socket_id) = 0;
    // The counters of those flows among `socket_ids` that the kernel has now (a call's last figures before
    // it ends).
    virtual std::vector<KernelCount> read(std::span<const std::uint32_t> socket_ids) = 0;
};

}  // namespace sg::relay
