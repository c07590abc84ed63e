#pragma once
// RTP/RTCP UDP port pairs for the RTSP application-level gateway: an even RTP port and the odd RTCP port
// above it (RFC 3550 section 11), both bound on one local address, taken from a configured range.
// The kernel is the authority on what is free: a pair is whatever binds; the pool only remembers where to
// start the next search, so consecutive sessions do not reuse a pair a late packet may still reach.

#include <asio/any_io_executor.hpp>
#include <asio/ip/address.hpp>
#include <asio/ip/udp.hpp>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>

#include "alg_relay/alg_stats.hpp"

namespace sg::alg {

// Two bound sockets; counted in AlgStats::port_pairs_in_use until close() or destruction.
class PortPair {
public:
    PortPair(asio::ip::udp::socket rtp, asio::ip::udp::socket rtcp, std::uint16_t rtp_port,
             std::shared_ptr<AlgStats> stats);
    PortPair(PortPair&& other) noexcept;
    PortPair& operator=(PortPair&&) = delete;
    PortPair(const PortPair&) = delete;
    PortPair& operator=(const PortPair&) = delete;
    ~PortPair();

    asio::ip::udp::socket& rtp() noexcept { return rtp_; }
    asio::ip::udp::socket& rtcp() noexcept { return rtcp_; }
    asio::ip::udp::socket& socket(int channel) noexcept { return channel == 0 ? rtp_ : rtcp_; }
    std::uint16_t rtp_port() const noexcept { return rtp_port_; }
    // Closes both sockets (idempotent): pending operations end with operation_aborted.
    void close() noexcept;

private:
    asio::ip::udp::socket rtp_;
    asio::ip::udp::socket rtcp_;
    std::uint16_t rtp_port_;
    std::shared_ptr<AlgStats> stats_;  // null once closed or moved from
};

class PortPool {
public:
    // The range [first, last]; pairs start at even ports and need both ports inside it.
    PortPool(std::uint16_t first, std::uint16_t last, std::shared_ptr<AlgStats> stats);

    // Binds a free pair on `local` (an IPv6 address binds IPv6-only); nothing when the range has none.
    // Thread-safe: the gateway's event loops share one pool (a mutex, taken per SETUP).
    std::optional<PortPair> open_pair(const asio::any_io_executor& executor, const asio::ip::address& local);

    std::uint32_t pair_count() const noexcept { return pairs_; }

private:
    std::uint16_t first_even_;
    std::uint32_t pairs_;
    std::mutex mutex_;
    std::uint32_t next_ = 0;  // index of the pair to try first; under mutex_
    std::shared_ptr<AlgStats> stats_;
};

}  // namespace sg::alg
