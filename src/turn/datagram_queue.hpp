#pragma once
// Datagrams `streamgate turn` has to send, queued while the edge reactor serves a turn of ready sockets and
// sent at the end of it with one sendmmsg per sending socket. The relayed sockets' batches all answer through
// the listener: 400 clients' ChannelData then leave in a few system calls instead of one sendto each. The
// bytes are copied in (what the TURN machine answers is valid only until its next call, and the receive
// slots are refilled by the next socket's read), so a queued datagram stays valid until flush().
//
// Nothing waits: what a socket buffer has no room for is dropped and counted, as a router drops when its
// queue is full.

#include <asio/ip/udp.hpp>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/byte_io.hpp"
#include "net/udp_batch.hpp"

namespace sg::turn {

struct QueueFlush {
    std::size_t sent = 0;
    std::size_t failed = 0;  // refused by the kernel or dropped for a full socket buffer
    std::size_t calls = 0;   // sendmmsg calls made (one per socket with something queued, normally)
};

class DatagramQueue {
public:
    void add(int fd, const asio::ip::udp::endpoint& destination, Bytes datagram);
    // The socket is closing: what was queued for it is dropped (its descriptor number may be reused before
    // the next flush).
    void discard(int fd) noexcept;
    // Sends everything queued, in order per socket, and empties the queue.
    QueueFlush flush() noexcept;

    std::size_t size() const noexcept { return items_.size(); }
    bool empty() const noexcept { return items_.empty(); }

private:
    struct Item {
        int fd;
        asio::ip::udp::endpoint destination;
        std::size_t offset;
        std::size_t length;
    };
    std::vector<std::uint8_t> bytes_;
    std::vector<Item> items_;
    net::UdpSendBatch batch_;
};

}  // namespace sg::turn
