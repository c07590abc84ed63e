// The epoll backend of the media sockets: the shard's edge-triggered reactor; when a socket is readable, one
// recvmmsg takes what it holds (up to a batch) and sendmmsg sends it on, one call per destination socket.

#include <unistd.h>

#include "net/edge_reactor.hpp"
#include "net/udp_batch.hpp"
#include "relay_io/endpoint_conversion.hpp"
#include "relay_io/media_backends.hpp"

namespace sg::relay_io {
namespace {

// Datagrams per system call, and the largest relayed: RTP on real networks stays under a 1,500-byte MTU.
// Longer datagrams are counted and dropped. One batch serves the whole shard, so a larger one costs nothing
// per socket.
constexpr std::size_t k_batch = 32;
constexpr std::size_t k_slot = 2048;

class EpollMediaSockets final : public MediaSocketsIo {
public:
    explicit EpollMediaSockets(asio::io_context& io)
        : reactor_(io, net::Unhandled::relay_media), in_(k_batch, k_slot) {}
    ~EpollMediaSockets() override { unwatch_all(); }
    EpollMediaSockets(const EpollMediaSockets&) = delete;
    EpollMediaSockets& operator=(const EpollMediaSockets&) = delete;

    MediaCounters counters() const noexcept override { return counters_; }
    std::string_view backend() const noexcept override { return "epoll"; }

private:
    struct Reader final : net::EdgeReactor::Reader {
        Reader(EpollMediaSockets& sockets, int descriptor, std::uint32_t socket_id)
            : owner(sockets), fd(descriptor), id(socket_id) {}
        bool on_readable() override { return owner.receive(*this); }
        EpollMediaSockets& owner;
        int fd;
        std::uint32_t id;
    };

    bool watch(int fd, std::uint32_t socket_id) override {
        auto reader = std::make_unique<Reader>(*this, fd, socket_id);
        if (!reactor_.add(fd, *reader)) return false;
        readers_[socket_id] = std::move(reader);
        return true;
    }

    void unwatch(int fd, std::uint32_t socket_id) noexcept override {
        const auto it = readers_.find(socket_id);
        if (it == readers_.end()) return;
        reactor_.remove(fd, *it->second);
        readers_.erase(it);
    }

    void flush(int fd) {
        if (out_.empty()) return;
        const auto result = net::send_batch_now(fd, out_);
        counters_.send_failures += result.failed;
        out_.clear();
    }

    // Reads one batch and forwards it; true when the batch was full (more may be queued).
    bool receive(Reader& in) {
        const int got = in_.receive_now(in.fd);
        if (got <= 0) {
            // EAGAIN: a stale edge, nothing to read. Anything else concerned one datagram (unconnected
            // sockets get no ICMP errors, but be safe): ask to be called again rather than lose what may be
            // queued.
            return got != -EAGAIN && got != -EWOULDBLOCK && got != -EBADF && got != -ENOTSOCK;
        }
        const auto now = std::chrono::steady_clock::now();
        int out_fd = -1;
        std::uint32_t out_id = 0;
        for (std::size_t i = 0; i < in_.size(); ++i) {
            if (in_.bad_source(i)) continue;
            if (in_.truncated(i)) {
                ++counters_.truncated;
                continue;
            }
            const auto forward = table_->on_packet(in.id, to_address(in_.source(i)), in_.data(i), now);
            if (!forward) continue;
            if (out_fd < 0 || out_id != forward->socket_id) {
                flush(out_fd);
                out_fd = descriptor(forward->socket_id);
                out_id = forward->socket_id;
                if (out_fd < 0) continue;
            }
            out_.add(to_endpoint(forward->destination), {}, in_.data(i));
        }
        flush(out_fd);
        return static_cast<std::size_t>(got) == in_.capacity();
    }

    net::EdgeReactor reactor_;
    std::unordered_map<std::uint32_t, std::unique_ptr<Reader>> readers_;
    // Shared by every socket of the shard: only one is read at a time.
    net::UdpReceiveBatch in_;
    net::UdpSendBatch out_;
};

}  // namespace

std::unique_ptr<MediaSocketsIo> make_epoll_media_sockets(asio::io_context& io) {
    return std::make_unique<EpollMediaSockets>(io);
}

}  // namespace sg::relay_io
