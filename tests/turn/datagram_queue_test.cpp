// DatagramQueue on loopback sockets: one sendmmsg per sending socket, order kept per socket, the bytes
// copied at add() (the caller's buffer may change before the flush), and a discarded socket's datagrams
// never sent.

#include "turn/datagram_queue.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "net/udp_batch.hpp"
#include "turn/udp_port.hpp"

namespace sg::turn {
namespace {

struct Bound {
    Bound() : port(false) {
        EXPECT_TRUE(port.valid());
        EXPECT_FALSE(port.bind(asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)));
        address = port.local_endpoint();
    }
    // Everything queued at the socket now, as text (the datagrams were sent before this is called).
    std::vector<std::string> received() {
        std::vector<std::string> got;
        net::UdpReceiveBatch batch(16, 256);
        while (batch.receive_now(port.fd()) > 0)
            for (std::size_t i = 0; i < batch.size(); ++i)
                got.emplace_back(reinterpret_cast<const char*>(batch.data(i).data()), batch.data(i).size());
        return got;
    }
    UdpPort port;
    asio::ip::udp::endpoint address;
};

Bytes bytes(const std::string& text) {
    return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

TEST(DatagramQueue, SendsOneBatchPerSocketInOrderAndCopiesTheBytes) {
    Bound from_a;
    Bound from_b;
    Bound to;
    DatagramQueue queue;
    std::string buffer = "a1";
    queue.add(from_a.port.fd(), to.address, bytes(buffer));
    buffer = "b1";  // a receive slot refilled before the flush: what was queued must not change
    queue.add(from_b.port.fd(), to.address, bytes(buffer));
    queue.add(from_a.port.fd(), to.address, bytes("a2"));
    queue.add(from_b.port.fd(), to.address, bytes("b2"));
    queue.add(from_a.port.fd(), to.address, bytes("a3"));
    EXPECT_EQ(queue.size(), 5U);
    const auto flushed = queue.flush();
    EXPECT_EQ(flushed.sent, 5U);
    EXPECT_EQ(flushed.failed, 0U);
    EXPECT_EQ(flushed.calls, 2U);  // one per sending socket, not one per datagram
    EXPECT_TRUE(queue.empty());
    std::vector<std::string> from_first;
    std::vector<std::string> from_second;
    for (const auto& d : to.received())
        (d[0] == 'a' ? from_first : from_second).push_back(d);
    EXPECT_EQ(from_first, (std::vector<std::string>{"a1", "a2", "a3"}));
    EXPECT_EQ(from_second, (std::vector<std::string>{"b1", "b2"}));
}

TEST(DatagramQueue, ADiscardedSocketsDatagramsAreNotSent) {
    Bound from_a;
    Bound from_b;
    Bound to;
    DatagramQueue queue;
    queue.add(from_a.port.fd(), to.address, bytes("a"));
    queue.add(from_b.port.fd(), to.address, bytes("b"));
    queue.discard(from_a.port.fd());
    const auto flushed = queue.flush();
    EXPECT_EQ(flushed.sent, 1U);
    EXPECT_EQ(to.received(), std::vector<std::string>{"b"});
}

TEST(DatagramQueue, AnEmptyQueueMakesNoCall) {
    DatagramQueue queue;
    EXPECT_EQ(queue.flush().calls, 0U);
}

}  // namespace
}  // namespace sg::turn
