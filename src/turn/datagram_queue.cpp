#include "turn/datagram_queue.hpp"

#include <algorithm>

namespace sg::turn {

void DatagramQueue::add(int fd, const asio::ip::udp::endpoint& destination, Bytes datagram) {
    items_.push_back(Item{fd, destination, bytes_.size(), datagram.size()});
    bytes_.insert(bytes_.end(), datagram.begin(), datagram.end());
}

void DatagramQueue::discard(int fd) noexcept {
    items_.erase(std::remove_if(items_.begin(), items_.end(), [fd](const Item& i) { return i.fd == fd; }),
                 items_.end());
}

// UdpSendBatch::add can only throw for want of memory; the batch keeps the capacity of its largest run, so
// after the first turns it allocates nothing.
// NOLINTNEXTLINE(bugprone-exception-escape)
QueueFlush DatagramQueue::flush() noexcept {
    QueueFlush result;
    if (items_.empty()) return result;
    // Grouped by socket, each socket's datagrams in the order they were queued.
    std::stable_sort(items_.begin(), items_.end(), [](const Item& a, const Item& b) { return a.fd < b.fd; });
    std::size_t first = 0;
    while (first < items_.size()) {
        const int fd = items_[first].fd;
        batch_.clear();
        std::size_t end = first;
        for (; end < items_.size() && items_[end].fd == fd; ++end)
            batch_.add(items_[end].destination, {},
                       Bytes(bytes_.data() + items_[end].offset, items_[end].length));
        const auto sent = net::send_batch_now(fd, batch_);
        result.sent += sent.sent;
        result.failed += sent.failed;
        ++result.calls;
        first = end;
    }
    batch_.clear();
    items_.clear();
    bytes_.clear();
    return result;
}

}  // namespace sg::turn
