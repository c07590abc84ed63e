#include "alg_relay/port_pool.hpp"

#include <asio/ip/v6_only.hpp>
#include <utility>

namespace sg::alg {

using asio::ip::udp;

PortPair::PortPair(udp::socket rtp, udp::socket rtcp, std::uint16_t rtp_port, std::shared_ptr<AlgStats> stats)
    : rtp_(std::move(rtp)), rtcp_(std::move(rtcp)), rtp_port_(rtp_port), stats_(std::move(stats)) {
    if (stats_) stats_->port_pairs_in_use.fetch_add(1, std::memory_order_relaxed);
}

PortPair::PortPair(PortPair&& other) noexcept
    : rtp_(std::move(other.rtp_)),
      rtcp_(std::move(other.rtcp_)),
      rtp_port_(other.rtp_port_),
      stats_(std::move(other.stats_)) {}

PortPair::~PortPair() {
    close();
}

void PortPair::close() noexcept {
    asio::error_code ignored;
    rtp_.close(ignored);
    rtcp_.close(ignored);
    if (stats_) {
        stats_->port_pairs_in_use.fetch_sub(1, std::memory_order_relaxed);
        stats_.reset();
    }
}

PortPool::PortPool(std::uint16_t first, std::uint16_t last, std::shared_ptr<AlgStats> stats)
    : first_even_(static_cast<std::uint16_t>(first + (first % 2))), pairs_(0), stats_(std::move(stats)) {
    if (last > first_even_) pairs_ = (static_cast<std::uint32_t>(last) - first_even_ + 1) / 2;
}

std::optional<PortPair> PortPool::open_pair(const asio::any_io_executor& executor,
                                            const asio::ip::address& local) {
    const auto protocol = local.is_v4() ? udp::v4() : udp::v6();
    const auto open_one = [&](std::uint16_t port) -> std::optional<udp::socket> {
        udp::socket socket(executor);
        asio::error_code ec;
        socket.open(protocol, ec);
        if (!ec && local.is_v6()) socket.set_option(asio::ip::v6_only(true), ec);
        if (!ec) socket.bind(udp::endpoint(local, port), ec);
        if (ec) return std::nullopt;
        return socket;
    };
    // Every pair is tried at most once per call: a full range costs one failed bind per pair. The lock is
    // held across the binds so that two loops never race for the same pair.
    const std::lock_guard lock(mutex_);
    for (std::uint32_t tried = 0; tried < pairs_; ++tried) {
        const std::uint32_t index = next_;
        next_ = (next_ + 1) % pairs_;
        const auto port = static_cast<std::uint16_t>(first_even_ + 2 * index);
        auto rtp = open_one(port);
        if (!rtp) continue;
        auto rtcp = open_one(static_cast<std::uint16_t>(port + 1));
        if (!rtcp) continue;
        return PortPair(std::move(*rtp), std::move(*rtcp), port, stats_);
    }
    return std::nullopt;
}

}  // namespace sg::alg
