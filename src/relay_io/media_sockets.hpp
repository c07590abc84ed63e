#pragma once
// The relay's media sockets: one UDP socket per port of each side's pair. When a datagram arrives, the call
// table says where it goes and it is sent on out of the other side's socket, copying nothing. One instance
// per shard: its sockets and its call table share the shard's event loop, so the per-packet path takes no
// lock and allocates nothing once its buffers have grown.
//
// Two ways to wait and move the datagrams, chosen per shard by make_media_sockets():
//   io_uring  a multishot receive per socket and every send of a wakeup in one submission
//   (net/uring_udp.hpp):
//             no system call per packet;
//   epoll     the shard's edge-triggered epoll set, a recvmmsg per ready socket and a sendmmsg per
//             destination socket (net/edge_reactor.hpp): where io_uring is missing or forbidden.
//
// The sockets are plain descriptors, not Asio sockets: Asio would register each one in its own epoll set as
// well and wake for every datagram.

#include <asio/io_context.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/byte_io.hpp"
#include "relay/call_table.hpp"

namespace sg::relay_io {

struct MediaCounters {
    std::uint64_t send_failures = 0;     // datagrams the kernel refused (unreachable, too big, buffer full)
    std::uint64_t truncated = 0;         // longer than a receive buffer: dropped
    std::uint64_t buffer_shortages = 0;  // io_uring: a socket's receive stopped until buffers came back
};

class MediaSocketsIo : public relay::MediaSockets {
public:
    MediaSocketsIo() = default;
    ~MediaSocketsIo() override;
    MediaSocketsIo(const MediaSocketsIo&) = delete;
    MediaSocketsIo& operator=(const MediaSocketsIo&) = delete;

    // The table the receive path asks; set once, before the first open().
    void attach(relay::CallTable& table) noexcept { table_ = &table; }

    std::optional<Pair> open(const relay::Address& local) override;
    void close(std::uint32_t socket_id) override;

    // Sends one datagram out of an open socket now (play media); false when the socket is gone or the
    // kernel refused it.
    bool send(std::uint32_t socket_id, const relay::Address& destination, Bytes datagram);

    std::size_t open_sockets() const noexcept { return sockets_.size(); }
    virtual MediaCounters counters() const noexcept = 0;
    // "io_uring" or "epoll".
    virtual std::string_view backend() const noexcept = 0;

protected:
    // Start and stop reading a bound socket. A derived destructor must unwatch every open socket.
    virtual bool watch(int fd, std::uint32_t socket_id) = 0;
    virtual void unwatch(int fd, std::uint32_t socket_id) noexcept = 0;
    void unwatch_all() noexcept;
    // The descriptor of an open socket, or -1.
    int descriptor(std::uint32_t socket_id) const noexcept;

    relay::CallTable* table_ = nullptr;
    MediaCounters counters_;

private:
    int bind(const relay::Address& local);

    std::unordered_map<std::uint32_t, int> sockets_;  // socket id -> descriptor
    std::uint32_t next_id_ = 1;
};

enum class MediaIo { automatic, io_uring, epoll };

// `automatic` takes io_uring when this kernel lets us and epoll otherwise; `why` then says why not io_uring
// (empty when it was taken or not asked for). `io_uring` never falls back: nullptr, with `why`.
std::unique_ptr<MediaSocketsIo> make_media_sockets(asio::io_context& io, MediaIo wanted, std::string& why);

}  // namespace sg::relay_io
