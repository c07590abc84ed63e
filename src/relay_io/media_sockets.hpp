#pragma once
// The relay's media sockets: one UDP socket per port of each side's pair, each with a coroutine that reads
// datagrams in batches (recvmmsg), asks the call table where each goes and sends them on in batches
// (sendmmsg) out of the other side's socket. One instance per shard: its sockets and its call table share
// the shard's event loop, so the per-packet path takes no lock.

#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <cstdint>
#include <memory>
#include <unordered_map>

#include "relay/call_table.hpp"

namespace sg::relay_io {

struct MediaCounters {
    std::uint64_t send_failures = 0;  // datagrams the kernel refused (unreachable, too big)
    std::uint64_t truncated = 0;      // longer than a receive slot: dropped
};

class UdpMediaSockets : public relay::MediaSockets {
public:
    explicit UdpMediaSockets(asio::io_context& io) : io_(io) {}
    ~UdpMediaSockets() override;

    // The table the receive loops ask; set once, before the first open().
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
    std::shared_ptr<Socket> bind(const relay::Address& local);
    void start(const std::shared_ptr<Socket>& socket);

    asio::io_context& io_;
    relay::CallTable* table_ = nullptr;
    std::unordered_map<std::uint32_t, std::shared_ptr<Socket>> sockets_;
    std::uint32_t next_id_ = 1;
    MediaCounters counters_;
};

}  // namespace sg::relay_io
