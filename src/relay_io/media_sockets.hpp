#pragma once
// The relay's media sockets: one UDP socket per port of each side's pair, all watched by the shard's
// edge-triggered reactor (edge_reactor.hpp). When a socket is readable, one recvmmsg takes what it holds (up
// to a batch), the call table says where each datagram goes, and sendmmsg sends them on out of the other
// side's socket, copying nothing. One instance per shard: its sockets and its call table share the shard's
// event loop, so the per-packet path takes no lock and allocates nothing once its batches have grown.
//
// The sockets are plain descriptors, not Asio sockets: Asio would register each one in its own epoll set as
// well and wake for every datagram.

#include <asio/io_context.hpp>
#include <cstdint>
#include <memory>
#include <unordered_map>

#include "net/edge_reactor.hpp"
#include "net/udp_batch.hpp"
#include "relay/call_table.hpp"

namespace sg::relay_io {

struct MediaCounters {
    std::uint64_t send_failures = 0;  // datagrams the kernel refused (unreachable, too big, buffer full)
    std::uint64_t truncated = 0;      // longer than a receive slot: dropped
};

class UdpMediaSockets : public relay::MediaSockets {
public:
    explicit UdpMediaSockets(asio::io_context& io);
    ~UdpMediaSockets() override;
    UdpMediaSockets(const UdpMediaSockets&) = delete;
    UdpMediaSockets& operator=(const UdpMediaSockets&) = delete;

    // The table the receive path asks; set once, before the first open().
    void attach(relay::CallTable& table) noexcept { table_ = &table; }

    std::optional<Pair> open(const relay::Address& local) override;
    void close(std::uint32_t socket_id) override;

    // Sends one datagram out of an open socket now (play media); false when the socket is gone or the
    // kernel refused it.
    bool send(std::uint32_t socket_id, const relay::Address& destination, Bytes datagram);

    std::size_t open_sockets() const noexcept { return sockets_.size(); }
    const MediaCounters& counters() const noexcept { return counters_; }

    struct Socket;

private:
    std::unique_ptr<Socket> bind(const relay::Address& local);
    // Reads one batch from `in` and forwards it; true when the batch was full (more may be queued).
    bool receive(Socket& in);
    void flush(int fd);

    net::EdgeReactor reactor_;
    relay::CallTable* table_ = nullptr;
    std::unordered_map<std::uint32_t, std::unique_ptr<Socket>> sockets_;
    std::uint32_t next_id_ = 1;
    MediaCounters counters_;
    // Shared by every socket of the shard: only one is read at a time.
    net::UdpReceiveBatch in_;
    net::UdpSendBatch out_;
};

}  // namespace sg::relay_io
