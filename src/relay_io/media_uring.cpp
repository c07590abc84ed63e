// The io_uring backend of the media sockets (net/uring_udp.hpp): a multishot receive per socket; each
// datagram the call table forwards is sent on from the buffer it arrived in, and a wakeup's sends go to the
// kernel together.

#include "net/uring_udp.hpp"
#include "relay_io/endpoint_conversion.hpp"
#include "relay_io/media_backends.hpp"

namespace sg::relay_io {
namespace {

class UringMediaSockets final : public MediaSocketsIo {
public:
    explicit UringMediaSockets(std::unique_ptr<net::UringUdp> uring) : uring_(std::move(uring)) {
        uring_->set_handler([this](const net::UringDatagram& datagram) { on_datagram(datagram); });
    }
    ~UringMediaSockets() override { unwatch_all(); }
    UringMediaSockets(const UringMediaSockets&) = delete;
    UringMediaSockets& operator=(const UringMediaSockets&) = delete;

    MediaCounters counters() const noexcept override {
        MediaCounters total = counters_;
        total.send_failures += uring_->counters().send_failures;
        total.buffer_shortages = uring_->counters().buffer_shortages;
        return total;
    }
    std::string_view backend() const noexcept override { return "io_uring"; }

private:
    bool watch(int fd, std::uint32_t socket_id) override { return uring_->add(fd, socket_id); }
    void unwatch(int /*fd*/, std::uint32_t socket_id) noexcept override { uring_->remove(socket_id); }

    void on_datagram(const net::UringDatagram& datagram) {
        if (datagram.truncated) {
            ++counters_.truncated;
            return;
        }
        const auto from = to_address(datagram.source, datagram.source_length);
        if (!from) return;
        const auto forward = table_->on_packet(static_cast<std::uint32_t>(datagram.tag), *from,
                                               datagram.payload, datagram.found_at);
        if (!forward) return;
        const auto destination = to_endpoint(forward->destination);
        uring_->forward(forward->socket_id, destination.data(), static_cast<::socklen_t>(destination.size()));
    }

    std::unique_ptr<net::UringUdp> uring_;
};

}  // namespace

std::unique_ptr<MediaSocketsIo> make_uring_media_sockets(asio::io_context& io, std::string& why) {
    auto uring = net::UringUdp::create(io, net::Unhandled::relay_media, net::UringUdp::Options{}, why);
    if (!uring) return nullptr;
    return std::make_unique<UringMediaSockets>(std::move(uring));
}

}  // namespace sg::relay_io
