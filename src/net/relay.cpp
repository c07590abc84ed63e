#include "net/relay.hpp"

#include <array>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "common/units.hpp"

namespace sg::net {
namespace {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto k_use = asio::experimental::as_tuple(asio::use_awaitable);

struct Direction {
    std::uint64_t bytes = 0;
    bool eof = false;  // the source closed cleanly; anything else ending the loop is an error
};

// Aborts whatever the other direction is waiting for: after a reset the relay is over, and the other
// direction must not sit in a read until the idle timeout.
void abort_both(tcp::socket& x, tcp::socket& y) {
    asio::error_code ignored;
    x.cancel(ignored);
    y.cancel(ignored);
}

// One direction. Returns when the source reaches EOF (after passing the half-close on) or on an error.
asio::awaitable<void> pump(tcp::socket& from, tcp::socket& to, Direction& dir,
                           Clock::time_point& last_activity) {
    std::array<std::uint8_t, std::size_t{16} * 1024>
        buffer;  // lives in the coroutine frame: one per direction
    for (;;) {
        auto [read_ec, n] = co_await from.async_read_some(asio::buffer(buffer), k_use);
        if (read_ec) {
            if (read_ec == asio::error::eof) {
                dir.eof = true;
                asio::error_code ignored;
                to.shutdown(tcp::socket::shutdown_send, ignored);
            } else {
                abort_both(from, to);
            }
            co_return;
        }
        last_activity = Clock::now();
        auto [write_ec, written] = co_await asio::async_write(to, asio::buffer(buffer.data(), n), k_use);
        if (write_ec) {
            abort_both(from, to);
            co_return;
        }
        dir.bytes += written;
        last_activity = Clock::now();
    }
}

asio::awaitable<void> both_directions(tcp::socket& a, tcp::socket& b, Direction& ab, Direction& ba,
                                      Clock::time_point& last_activity) {
    using namespace asio::experimental::awaitable_operators;
    // The relay ends when both directions are done, or as soon as one fails with an error. A clean EOF in one
    // direction leaves the other running (half-close).
    co_await (pump(a, b, ab, last_activity) && pump(b, a, ba, last_activity));
}

asio::awaitable<void> idle_watchdog(Clock::time_point& last_activity, Clock::duration idle_timeout) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (;;) {
        const auto deadline = last_activity + idle_timeout;
        if (Clock::now() >= deadline) co_return;
        timer.expires_at(deadline);
        co_await timer.async_wait(k_use);
    }
}

}  // namespace

asio::awaitable<RelayResult> relay(tcp::socket& a, tcp::socket& b, Clock::duration idle_timeout) {
    using namespace asio::experimental::awaitable_operators;
    Direction ab;
    Direction ba;
    auto last_activity = Clock::now();
    const auto winner =
        co_await (both_directions(a, b, ab, ba, last_activity) || idle_watchdog(last_activity, idle_timeout));
    RelayResult result{ab.bytes, ba.bytes, {}};
    if (winner.index() == 1) {
        result.end_reason = "idle timeout";
    } else if (ab.eof && ba.eof) {
        result.end_reason = "closed";
    } else {
        result.end_reason = ab.eof || ba.eof ? "reset after half-close" : "reset";
    }
    co_return result;
}

}  // namespace sg::net
