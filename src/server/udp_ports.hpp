#pragma once
// Server-side UDP port pairs for RTP/RTCP (RFC 3550 §11: RTP on an even port, RTCP on the next one),
// taken from a configured range. Nothing is reserved in a table: a pair is in use exactly as long as its
// sockets are bound, so a torn-down session frees its ports by closing them and nothing can leak. Every
// event loop of the server allocates from one allocator: the round-robin cursor is atomic and the kernel's
// bind() decides who gets a port, so no lock is needed.

#include <asio/any_io_executor.hpp>
#include <asio/ip/address.hpp>
#include <asio/ip/udp.hpp>
#include <atomic>
#include <cstdint>
#include <memory>

namespace sg::server {

struct UdpPair {
    asio::ip::udp::socket rtp;
    asio::ip::udp::socket rtcp;
};

class UdpPortAllocator {
public:
    UdpPortAllocator(std::uint16_t first, std::uint16_t last) noexcept;

    // Binds the next free even/odd pair on `address`, round-robin through the range; nullptr when every
    // pair is taken.
    std::unique_ptr<UdpPair> allocate(const asio::any_io_executor& executor,
                                      const asio::ip::address& address);

private:
    std::uint16_t first_;                 // even
    std::uint16_t last_;                  // odd, >= first_ + 1 (or first_ - 1 for an empty range)
    std::atomic<std::uint32_t> next_{0};  // pairs handed out so far (modulo the range: the next pair)
};

}  // namespace sg::server
