#pragma once
// The relay's media ports: even/odd pairs (RTP on the even port, RTCP on the next, RFC 3550 §11) from a
// configured range. Freed pairs go to the back of the queue, so a port just released is the last to be
// handed out again: late packets of an ended call do not land in a new one.

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

namespace sg::relay {

class PortPool {
public:
    // Pairs whose even port lies in [first, last - 1]; an odd `first` starts at the next even port.
    PortPool(std::uint16_t first, std::uint16_t last);

    // The even port of a free pair, or nullopt when all are taken.
    std::optional<std::uint16_t> take();
    // Returns a pair to the back of the queue. A pair that could not be bound (another program holds it)
    // is released too: it is tried again only after every other free pair. Unknown or free ports are ignored.
    void release(std::uint16_t even_port);

    std::size_t free_pairs() const noexcept { return free_.size(); }
    std::size_t total_pairs() const noexcept { return total_; }

private:
    std::uint16_t first_;
    std::size_t total_ = 0;
    std::deque<std::uint16_t> free_;
    std::vector<bool> in_use_;  // by (port - first_) / 2, catches a double release
};

}  // namespace sg::relay
