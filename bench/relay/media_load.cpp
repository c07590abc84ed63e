#include "media_load.hpp"

#include <sys/socket.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <limits>

#include "net/udp_batch.hpp"

namespace sg::bench {
namespace {

using asio::ip::udp;
using Clock = std::chrono::steady_clock;
constexpr auto k_use = asio::experimental::as_tuple(asio::use_awaitable);

// Where our marker sits in the payload, after the RTP header: "SGRL", call index, direction, sequence.
constexpr std::size_t k_marker = 12;
constexpr std::size_t k_call = 16;
constexpr std::size_t k_direction = 20;
constexpr std::size_t k_sequence = 21;
constexpr std::uint8_t k_magic[4] = {'S', 'G', 'R', 'L'};
constexpr int k_socket_buffer = 64 << 20;

void put32(std::uint8_t* p, std::uint32_t v) {
    p[0] = static_cast<std::uint8_t>(v >> 24);
    p[1] = static_cast<std::uint8_t>(v >> 16);
    p[2] = static_cast<std::uint8_t>(v >> 8);
    p[3] = static_cast<std::uint8_t>(v);
}

std::uint32_t get32(const std::uint8_t* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

// As root the FORCE options pass net.core.[rw]mem_max; otherwise take what the limit allows.
void enlarge_buffers(udp::socket& socket) {
    const int fd = socket.native_handle();
    const int size = k_socket_buffer;
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) != 0)
        ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
}

udp::socket bound_socket(asio::io_context& io, const asio::ip::address& address) {
    udp::socket socket(io, udp::endpoint(address, 0));
    enlarge_buffers(socket);
    return socket;
}

// One direction's packets, rewritten in place each tick.
class Packets {
public:
    Packets(std::size_t calls, std::uint8_t direction) : bytes_(calls * k_rtp_packet_size, 0xff) {
        for (std::size_t i = 0; i < calls; ++i) {
            auto* p = at(i);
            p[0] = 0x80;  // RTP version 2
            p[1] = 0;     // payload type 0, PCMU
            put32(p + 8, static_cast<std::uint32_t>(0x10000000U + i * 2 + direction));  // SSRC
            std::copy(std::begin(k_magic), std::end(k_magic), p + k_marker);
            put32(p + k_call, static_cast<std::uint32_t>(i));
            p[k_direction] = direction;
        }
    }
    void stamp(std::size_t call, std::uint32_t tick) {
        auto* p = at(call);
        p[2] = static_cast<std::uint8_t>(tick >> 8);
        p[3] = static_cast<std::uint8_t>(tick);
        put32(p + 4, tick * 160);
        put32(p + k_sequence, tick);
    }
    Bytes view(std::size_t call) { return {at(call), k_rtp_packet_size}; }

private:
    std::uint8_t* at(std::size_t call) { return bytes_.data() + call * k_rtp_packet_size; }
    std::vector<std::uint8_t> bytes_;
};

// Per-call accounting of one direction: which packets arrived, the newest sequence seen.
class Tally {
public:
    Tally(std::size_t calls, std::uint32_t ticks, std::uint8_t direction)
        : ticks_(ticks), direction_(direction), seen_((calls * ticks + 63) / 64), newest_(calls, k_none) {}

    void count(Bytes data, const udp::endpoint& source, const std::vector<RelayedCall>& calls, bool a_side,
               bool late, DirectionStats& stats) {
        if (data.size() != k_rtp_packet_size ||
            !std::equal(std::begin(k_magic), std::end(k_magic), data.data() + k_marker)) {
            ++stats.foreign;
            return;
        }
        const auto call = get32(data.data() + k_call);
        const auto tick = get32(data.data() + k_sequence);
        if (call >= calls.size() || tick >= ticks_) {
            ++stats.foreign;
            return;
        }
        const auto& expected = a_side ? calls[call].a_facing : calls[call].b_facing;
        if (data[k_direction] != direction_ || source != expected) {
            ++stats.misrouted;
            return;
        }
        const std::size_t bit = std::size_t{call} * ticks_ + tick;
        auto& word = seen_[bit / 64];
        const std::uint64_t mask = std::uint64_t{1} << (bit % 64);
        if (word & mask) {
            ++stats.duplicates;
            return;
        }
        word |= mask;
        if (late) {
            ++stats.late;
            return;
        }
        ++stats.received;
        if (newest_[call] != k_none && tick < newest_[call])
            ++stats.reordered;
        else
            newest_[call] = tick;
    }

private:
    static constexpr std::uint32_t k_none = std::numeric_limits<std::uint32_t>::max();
    std::uint32_t ticks_;
    std::uint8_t direction_;
    std::vector<std::uint64_t> seen_;
    std::vector<std::uint32_t> newest_;
};

asio::awaitable<void> receive_loop(udp::socket& socket, Tally& tally, const std::vector<RelayedCall>& calls,
                                   bool a_side, DirectionStats& stats, const bool& late,
                                   const bool& stopping) {
    net::UdpReceiveBatch batch(256, 256);
    for (;;) {
        if (co_await net::receive_batch(socket, batch)) co_return;
        for (std::size_t i = 0; i < batch.size(); ++i) {
            if (batch.bad_source(i) || batch.truncated(i)) {
                ++stats.foreign;
                continue;
            }
            tally.count(batch.data(i), batch.source(i), calls, a_side, late, stats);
        }
        // A batch that came without waiting did not pass through the event loop: yield, or a queue the
        // relay keeps filling would starve the sender (and the other receiver) on this one thread.
        co_await asio::post(socket.get_executor(), asio::use_awaitable);
        if (stopping) co_return;
    }
}

double seconds_between(Clock::time_point from, Clock::time_point to) {
    return std::chrono::duration<double>(to - from).count();
}

}  // namespace

MediaSides::MediaSides(asio::io_context& io, const asio::ip::address& address)
    : a(bound_socket(io, address)), b(bound_socket(io, address)) {}

MediaResult run_media(asio::io_context& io, MediaSides& sides, const MediaPlan& plan,
                      const std::function<void(const MediaResult&, double elapsed)>& progress) {
    const auto ticks = static_cast<std::uint32_t>(plan.duration / k_tick);
    const auto calls = plan.calls.size();
    MediaResult result;
    Tally to_b(calls, ticks, 0);
    Tally to_a(calls, ticks, 1);
    const auto started = Clock::now();
    asio::steady_timer progress_timer(io);
    bool done = false;
    bool stopping = false;
    bool late = false;

    auto send_loop = [&]() -> asio::awaitable<void> {
        Packets from_a(calls, 0);
        Packets from_b(calls, 1);
        net::UdpSendBatch batch;
        asio::steady_timer timer(io);
        for (std::uint32_t tick = 0; tick < ticks; ++tick) {
            const auto deadline = started + tick * k_tick;
            // Late bursts still yield once, so the receivers keep draining while the sender catches up.
            timer.expires_at(deadline);
            co_await timer.async_wait(k_use);
            result.max_tick_lag_ms =
                std::max(result.max_tick_lag_ms, seconds_between(deadline, Clock::now()) * 1000);
            batch.clear();
            for (std::size_t i = 0; i < calls; ++i) {
                from_a.stamp(i, tick);
                batch.add(plan.calls[i].a_facing, {}, from_a.view(i));
            }
            result.a_to_b.sent += (co_await net::send_batch(sides.a, batch)).sent;
            batch.clear();
            for (std::size_t i = 0; i < calls; ++i) {
                from_b.stamp(i, tick);
                batch.add(plan.calls[i].b_facing, {}, from_b.view(i));
            }
            result.b_to_a.sent += (co_await net::send_batch(sides.b, batch)).sent;
        }
        result.send_seconds = seconds_between(started, Clock::now());
        timer.expires_after(plan.drain);
        co_await timer.async_wait(k_use);
        late = true;
        timer.expires_after(plan.late);
        co_await timer.async_wait(k_use);
        done = true;
        progress_timer.cancel();
        // A receiver waiting for datagrams is cancelled; one between batches sees `stopping` (a cancel
        // alone would miss it, and its next wait would never end).
        stopping = true;
        asio::error_code ignored;
        sides.a.cancel(ignored);
        sides.b.cancel(ignored);
    };
    auto progress_loop = [&]() -> asio::awaitable<void> {
        for (int second = 1;; ++second) {
            progress_timer.expires_at(started + std::chrono::seconds(second));
            if (auto [ec] = co_await progress_timer.async_wait(k_use); ec || done) co_return;
            progress(result, seconds_between(started, Clock::now()));
        }
    };

    asio::co_spawn(io, receive_loop(sides.b, to_b, plan.calls, false, result.a_to_b, late, stopping),
                   asio::detached);
    asio::co_spawn(io, receive_loop(sides.a, to_a, plan.calls, true, result.b_to_a, late, stopping),
                   asio::detached);
    asio::co_spawn(io, send_loop(), asio::detached);
    asio::co_spawn(io, progress_loop(), asio::detached);
    io.restart();
    io.run();
    return result;
}

}  // namespace sg::bench
