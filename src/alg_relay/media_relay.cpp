#include "alg_relay/media_relay.hpp"

#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <cerrno>
#include <utility>

#include "net/asio_endpoint.hpp"
#include "net/unhandled.hpp"
#include "net/use_tuple.hpp"

namespace sg::alg {
namespace {

using asio::ip::udp;
// Datagrams per system call. One batch serves every relay of the loop, so its size costs nothing per relay;
// its slots are committed only as datagrams fill them.
constexpr std::size_t k_batch = 32;
constexpr std::size_t k_slot_size = 65536;  // any UDP datagram fits

std::uint16_t channel_port(rtsp::PortRange ports, int channel) {
    if (channel == 0) return ports.first;
    return ports.is_single() ? static_cast<std::uint16_t>(ports.first + 1) : ports.last;
}

}  // namespace

RelayLoop::RelayLoop(asio::io_context& loop)
    : io(loop), reactor(loop, net::Unhandled::media_relay), in(k_batch, k_slot_size) {
    // A batch goes to one peer (the relay's client or its origin), and a video frame's packets arrive
    // together: they leave as one segmented message.
    out.set_segmentation(true);
}

MediaRelay::MediaRelay(PortPair origin_facing, PortPair client_facing, const asio::ip::address& client_ip,
                       rtsp::PortRange client_ports, std::shared_ptr<AlgStats> stats,
                       Clock::duration session_timeout)
    : origin_facing_(std::move(origin_facing)),
      client_facing_(std::move(client_facing)),
      client_ip_(net::unmap(client_ip)),
      client_ports_(client_ports),
      stats_(std::move(stats)),
      session_timeout_(session_timeout) {}

void MediaRelay::start(std::shared_ptr<RelayLoop> loop, const asio::ip::address& origin_ip,
                       const OriginMedia& origin, std::string session_id) {
    if (stopped_ || running_ || !loop) return;
    loop_ = std::move(loop);
    origin_ip_ = net::unmap(origin_ip);
    session_id_ = std::move(session_id);
    if (origin.server_ports) {
        for (int channel = 0; channel < 2; ++channel)
            origin_endpoint_[channel] =
                udp::endpoint(origin_ip_, channel_port(*origin.server_ports, channel));
    }
    origin_label_ = net::to_string(udp::endpoint(
        origin_ip_, origin.server_ports ? origin.server_ports->first : static_cast<std::uint16_t>(0)));
    stop_signal_.emplace(loop_->io, Clock::time_point::max());
    running_ = true;
    started_ = Clock::now();
    last_activity_ = started_;
    stats_->media_relays.fetch_add(1, std::memory_order_relaxed);
    asio::co_spawn(
        loop_->io, [self = shared_from_this()]() { return self->run(); },
        net::log_unhandled(net::Unhandled::media_relay));
}

void MediaRelay::stop(std::string_view why) {
    if (stopped_) return;
    end(why);
    if (running_) {
        // run() notices, closes the ports and logs.
        if (stop_signal_) stop_signal_->cancel();
        return;
    }
    stopped_ = true;
    origin_facing_.close();
    client_facing_.close();
}

void MediaRelay::end(std::string_view why) {
    if (end_reason_.empty()) end_reason_ = why;
}

void MediaRelay::drop(std::size_t datagrams) {
    counters_.dropped += datagrams;
    stats_->packets_dropped.fetch_add(datagrams, std::memory_order_relaxed);
}

asio::awaitable<void> MediaRelay::run() {
    if (watch()) {
        co_await watchdog();
    } else {
        end("relay socket error");  // the loop's epoll set is unusable (descriptors ran out)
    }
    unwatch();  // before the sockets close: the reactor must not call a reader whose socket is gone
    stopped_ = true;
    running_ = false;
    origin_facing_.close();
    client_facing_.close();
    log_end();
}

bool MediaRelay::watch() {
    for (std::size_t i = 0; i < inbound_.size(); ++i) {
        Inbound& in = inbound_[i];
        in.relay = this;
        in.channel = static_cast<int>(i % 2);
        in.to_client = i < 2;
        in.fd = (in.to_client ? origin_facing_ : client_facing_).socket(in.channel).native_handle();
        // The origin's media: a video frame's packets, sent back to back, may be received as one run and
        // relayed as one (net::enable_receive_coalescing); the client's side carries RTCP and punches only.
        if (in.to_client) (void)net::enable_receive_coalescing(in.fd);
        if (!loop_->reactor.add(in.fd, in)) return false;
        in.watched = true;
    }
    return true;
}

void MediaRelay::unwatch() noexcept {
    for (Inbound& in : inbound_) {
        if (in.watched) loop_->reactor.remove(in.fd, in);
        in.watched = false;
    }
}

MediaRelaySnapshot MediaRelay::snapshot(Clock::time_point now) const {
    MediaRelaySnapshot s;
    s.session_id = session_id_;
    const auto client_rtp =
        client_latched_[0] ? *client_latched_[0] : udp::endpoint(client_ip_, client_ports_.first);
    s.client = net::to_string(client_rtp);
    s.origin = origin_label_;
    s.client_facing_port = client_facing_port();
    s.origin_facing_port = origin_facing_port();
    s.counters = counters_;
    s.age = now - started_;
    s.idle = now - last_activity_;
    return s;
}

void MediaRelay::log_end() const {
    const std::chrono::duration<double> duration = Clock::now() - started_;
    const auto client_rtp =
        client_latched_[0] ? *client_latched_[0] : udp::endpoint(client_ip_, client_ports_.first);
    spdlog::info(
        "alg-media-end client={} origin={} session={} ports={}/{} rtp_down={} rtcp_down={} rtp_up={} "
        "rtcp_up={} bytes_down={} bytes_up={} dropped={} latched={} duration={:.3f}s end=\"{}\"",
        net::to_string(client_rtp), origin_label_, session_id_.empty() ? "-" : session_id_,
        client_facing_port(), origin_facing_port(), counters_.packets_to_client[0],
        counters_.packets_to_client[1], counters_.packets_to_origin[0], counters_.packets_to_origin[1],
        counters_.bytes_to_client, counters_.bytes_to_origin, counters_.dropped,
        client_latched_[0] ? "yes" : "no", duration.count(), end_reason_.empty() ? "closed" : end_reason_);
}

bool MediaRelay::receive(Inbound& in) {
    if (!end_reason_.empty()) return false;  // ending: the watchdog has been woken
    const int got = loop_->in.receive_now(in.fd);
    if (got <= 0) {
        if (got == -EBADF || got == -ENOTSOCK) {
            end("relay socket error");
            if (stop_signal_) stop_signal_->cancel();
            return false;
        }
        // EAGAIN: a stale edge. Anything else (an ICMP error queued on the socket) concerned one datagram:
        // read again rather than lose what may be queued behind it.
        return got != -EAGAIN && got != -EWOULDBLOCK;
    }
    if (in.to_client) {
        forward_to_client(in.channel);
    } else {
        forward_to_origin(in.channel);
    }
    return static_cast<std::size_t>(got) == loop_->in.capacity();
}

void MediaRelay::forward_to_client(int channel) {
    const net::UdpReceiveBatch& batch = loop_->in;
    net::UdpSendBatch& send = loop_->out;
    send.clear();
    const udp::endpoint destination = client_latched_[channel]
                                          ? *client_latched_[channel]
                                          : udp::endpoint(client_ip_, channel_port(client_ports_, channel));
    for (std::size_t i = 0; i < batch.size(); ++i) {
        if (batch.bad_source(i) || batch.truncated(i) ||
            net::unmap(batch.source(i).address()) != origin_ip_) {
            drop(batch.datagrams(i));
            continue;
        }
        // An origin that named no server_port: its own source port is where the client's packets go.
        if (!origin_endpoint_[channel])
            origin_endpoint_[channel] = udp::endpoint(origin_ip_, batch.source(i).port());
        // A run the kernel coalesced (the origin-facing sockets ask for it, watch()) goes on as its
        // datagrams, which the send batch joins into one segmented message again.
        for (std::size_t k = 0, n = batch.datagrams(i); k < n; ++k)
            send.add(destination, {}, batch.datagram(i, k));
    }
    if (send.empty()) return;
    sent(net::send_batch_now(client_facing_.socket(channel).native_handle(), send), true, channel);
}

void MediaRelay::forward_to_origin(int channel) {
    const net::UdpReceiveBatch& batch = loop_->in;
    net::UdpSendBatch& send = loop_->out;
    send.clear();
    for (std::size_t i = 0; i < batch.size(); ++i) {
        if (batch.bad_source(i) || batch.truncated(i)) {
            drop();
            continue;
        }
        const udp::endpoint source(net::unmap(batch.source(i).address()), batch.source(i).port());
        if (source.address() != client_ip_) {
            drop();
            continue;
        }
        // Symmetric latching: the first packet fixes the client's endpoint for this channel.
        if (!client_latched_[channel]) client_latched_[channel] = source;
        // Only the latched endpoint speaks for the client from then on.
        if (source != *client_latched_[channel]) {
            drop();
            continue;
        }
        last_activity_ = Clock::now();             // a punch or RTCP report is the client's sign of life
        if (!origin_endpoint_[channel]) continue;  // nowhere to send yet: the origin named no port
        send.add(*origin_endpoint_[channel], {}, batch.data(i));
    }
    if (send.empty()) return;
    sent(net::send_batch_now(origin_facing_.socket(channel).native_handle(), send), false, channel);
}

void MediaRelay::sent(const net::UdpSendResult& result, bool to_client, int channel) {
    if (to_client) {
        counters_.packets_to_client[channel] += result.sent;
        counters_.bytes_to_client += result.body_bytes;
        stats_->packets_to_client.fetch_add(result.sent, std::memory_order_relaxed);
        stats_->bytes_to_client.fetch_add(result.body_bytes, std::memory_order_relaxed);
        if (result.sent > 0) last_activity_ = Clock::now();
    } else {
        counters_.packets_to_origin[channel] += result.sent;
        counters_.bytes_to_origin += result.body_bytes;
        stats_->packets_to_origin.fetch_add(result.sent, std::memory_order_relaxed);
        stats_->bytes_to_origin.fetch_add(result.body_bytes, std::memory_order_relaxed);
    }
    for (std::size_t i = 0; i < result.failed; ++i)
        drop();
    if (result.error) {
        end("relay socket error");
        if (stop_signal_) stop_signal_->cancel();
    }
}

// Ends the relay on stop() (the stop signal is cancelled) or after the session timeout.
asio::awaitable<void> MediaRelay::watchdog() {
    for (;;) {
        if (!end_reason_.empty()) co_return;  // stop() came first
        const auto deadline = last_activity_ + session_timeout_;
        if (Clock::now() >= deadline) {
            end("session timeout");
            co_return;
        }
        stop_signal_->expires_at(deadline);
        auto [ec] = co_await stop_signal_->async_wait(net::k_use_tuple);
        if (ec && !end_reason_.empty()) co_return;
    }
}

}  // namespace sg::alg
