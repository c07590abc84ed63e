#include "net/relay.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <csignal>

#include <cerrno>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string_view>

#include <asio/cancellation_state.hpp>
#include <asio/co_spawn.hpp>
#include <asio/post.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "common/text.hpp"
#include "net/clock.hpp"
#include "net/splice_pipe.hpp"
#include "net/use_tuple.hpp"

namespace sg::net {

void ignore_sigpipe() noexcept {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    sigaction(SIGPIPE, &ignore, nullptr);
}

namespace {

using asio::ip::tcp;

// A direction that keeps finding data never suspends on its own (splice is a plain system call), so after
// this much work it lets the other coroutines of the io_context run.
constexpr std::uint64_t k_yield_after_bytes = 1 * k_mib;
constexpr unsigned k_yield_after_moves = 64;

// State both directions and the idle watchdog see.
struct Shared {
    Clock::time_point last_activity = Clock::now();
    bool aborted = false;  // set by the first error: the other direction stops at its next step
};

struct Direction {
    std::uint64_t bytes = 0;
    std::uint64_t* live = nullptr;  // the caller's RelayProgress count, if any
    std::uint64_t spliced = 0;
    bool eof = false;            // the source closed cleanly; anything else ending the pump is an error
    bool splice_proven = false;  // splice(2) has moved bytes from this source: a later EINVAL is an error
};

enum class Burst {
    drained,    // the source has nothing more for now (EAGAIN just seen, nothing in flight)
    eof,        // the source closed and everything read was written
    failed,     // reset, error, or the relay was aborted
    no_splice,  // splice(2) refused on first use; nothing was moved
};

// When the relay counts as idle; saturates, so a caller may pass duration::max() for "never".
Clock::time_point idle_deadline(const Shared& shared, Clock::duration idle_timeout) {
    if (idle_timeout >= Clock::time_point::max() - shared.last_activity) return Clock::time_point::max();
    return shared.last_activity + idle_timeout;
}

// Ends the relay (an error, the idle timeout, the caller's cancellation): both directions stop at their next
// step, and cancel() wakes whatever they are waiting for, so neither sits in a wait until the idle timeout.
void abort_both(Shared& shared, tcp::socket& x, tcp::socket& y) {
    shared.aborted = true;
    asio::error_code ignored;
    x.cancel(ignored);
    y.cancel(ignored);
}

// A read of 0 means EOF, except after a reset whose error (ECONNRESET) the other direction's write on the
// same socket has already taken: the kernel reports each socket error once. A socket we have not shut down
// for sending can only be CLOSED by a reset; after a FIN it is in CLOSE_WAIT.
bool closed_by_reset(tcp::socket& socket) {
    tcp_info info{};
    socklen_t length = sizeof info;
    if (::getsockopt(socket.native_handle(), IPPROTO_TCP, TCP_INFO, &info, &length) != 0) return false;
    return info.tcpi_state == TCP_CLOSE;
}

// Moves source -> pipe -> destination until the source has nothing more to read with the pipe empty, the
// source's EOF has been passed through, or something fails. The pipe takes only what it has room for and is
// drained before the source is read again, so a slow destination stops the reads (backpressure).
// Descriptors are fetched at every step: a socket closed while we were suspended reads as -1 (EBADF), never
// as a reused descriptor number.
asio::awaitable<Burst> splice_burst(tcp::socket& from, tcp::socket& to, const Pipe& pipe, Direction& dir,
                                    Shared& shared) {
    const std::size_t capacity = pipe.capacity();
    std::size_t in_pipe = 0;
    bool source_closed = false;
    std::uint64_t bytes_since_yield = 0;
    unsigned moves_since_yield = 0;
    for (;;) {
        bool source_empty = false;
        bool progressed = false;
        if (!source_closed && in_pipe < capacity) {
            const SpliceResult in = splice_some(from.native_handle(), pipe.write_fd(), capacity - in_pipe);
            if (in.bytes > 0) {
                in_pipe += in.bytes;
                dir.splice_proven = true;
                progressed = true;
            } else if (in.error == 0) {
                source_closed = true;
            } else if (in.error == EAGAIN) {
                // Either the socket is empty or the pipe ran out of slots (small segments); in_pipe tells.
                source_empty = true;
            } else if ((in.error == EINVAL || in.error == ENOSYS) && !dir.splice_proven) {
                co_return Burst::no_splice;
            } else {
                co_return Burst::failed;
            }
        }
        if (in_pipe > 0) {
            const SpliceResult out = splice_some(pipe.read_fd(), to.native_handle(), in_pipe);
            if (out.bytes > 0) {
                in_pipe -= out.bytes;
                dir.bytes += out.bytes;
                if (dir.live != nullptr) *dir.live += out.bytes;
                dir.spliced += out.bytes;
                bytes_since_yield += out.bytes;
                progressed = true;
            } else if (out.error != EAGAIN) {
                // Includes EINVAL: sockets that accept splice(2) reads accept splice(2) writes, so a refusal
                // here is not a missing feature but a broken socket.
                co_return Burst::failed;
            }
        }
        if (in_pipe == 0) {
            if (source_closed) co_return Burst::eof;
            // The caller waits for readability next. Waiting only after EAGAIN avoids wake-ups for nothing;
            // bytes arriving in between are not missed, as Asio re-arms the descriptor when a wait starts.
            if (source_empty) co_return Burst::drained;
        }
        if (progressed) {
            shared.last_activity = Clock::now();
            if (bytes_since_yield >= k_yield_after_bytes || ++moves_since_yield >= k_yield_after_moves) {
                bytes_since_yield = 0;
                moves_since_yield = 0;
                const auto executor = co_await asio::this_coro::executor;
                co_await asio::post(executor, asio::use_awaitable);
                if (shared.aborted) co_return Burst::failed;
            }
            continue;
        }
        // Bytes in the pipe and the destination full (its splice just said EAGAIN): the source is not read
        // until the destination takes them.
        auto [ec] = co_await to.async_wait(tcp::socket::wait_write, k_use_tuple);
        if (ec || shared.aborted) co_return Burst::failed;
    }
}

// The buffered copy: read what is there, await its write, repeat until the source would block. The buffer
// exists only during the burst, so an idle direction holds none.
asio::awaitable<Burst> copy_burst(tcp::socket& from, tcp::socket& to, std::size_t buffer_size, Direction& dir,
                                  Shared& shared) {
    const std::size_t size = buffer_size > 0 ? buffer_size : RelayOptions{}.buffer_size;
    const auto buffer = std::make_unique_for_overwrite<std::uint8_t[]>(size);
    for (;;) {
        asio::error_code read_ec;
        const std::size_t n = from.read_some(asio::buffer(buffer.get(), size), read_ec);
        if (read_ec == asio::error::would_block) co_return Burst::drained;
        if (read_ec == asio::error::eof) co_return Burst::eof;
        if (read_ec) co_return Burst::failed;
        shared.last_activity = Clock::now();
        auto [write_ec, written] = co_await asio::async_write(to, asio::buffer(buffer.get(), n), k_use_tuple);
        dir.bytes += written;
        if (dir.live != nullptr) *dir.live += written;
        if (write_ec || shared.aborted) co_return Burst::failed;
        shared.last_activity = Clock::now();
    }
}

// One direction, spawned as its own coroutine. Returns when the source reaches EOF (after passing the
// half-close on) or on an error. It is stopped from outside (idle timeout, caller's cancellation, the other
// direction failing) by abort_both(): the flag, checked after every suspension, and cancel() on the sockets.
asio::awaitable<void> pump(tcp::socket& from, tcp::socket& to, Direction& dir, const Direction& other,
                           Shared& shared, RelayOptions options, PipePool& pool) {
    bool splice_enabled = options.splice;
    // At the start the source may already hold bytes (pipelined behind a request): look before waiting.
    bool wait_first = false;
    for (;;) {
        if (wait_first) {
            auto [ec] = co_await from.async_wait(tcp::socket::wait_read, k_use_tuple);
            if (ec) break;
        }
        // Also before the first burst: the other direction may have failed before this one ever ran, and
        // its cancel() then found nothing of ours to wake.
        if (shared.aborted) break;
        wait_first = true;
        Burst burst = Burst::no_splice;
        if (splice_enabled) {
            int error = 0;
            Pipe pipe = pool.acquire(options.pipe_size, error);
            if (pipe.valid()) {
                burst = co_await splice_burst(from, to, pipe, dir, shared);
                // After a failure the pipe may hold bytes: it is closed, not pooled.
                if (burst != Burst::failed) pool.release(std::move(pipe));
                if (burst == Burst::no_splice) splice_enabled = false;
            }
            // No pipe (out of descriptors or pipe memory): this burst goes through the buffer; the next one
            // tries a pipe again.
        }
        if (burst == Burst::no_splice)
            burst = co_await copy_burst(from, to, options.buffer_size, dir, shared);
        if (burst == Burst::drained) continue;
        // While the other direction still sends into `from`, its CLOSED state can only come from a reset.
        if (burst == Burst::eof && !other.eof && closed_by_reset(from)) break;
        if (burst == Burst::eof) {
            dir.eof = true;
            asio::error_code ignored;
            to.shutdown(tcp::socket::shutdown_send, ignored);
            co_return;
        }
        break;
    }
    abort_both(shared, from, to);
}

}  // namespace

RelayOptions default_relay_options() {
    RelayOptions options;
    // Read per relay so that tests can set it; the gateway never calls setenv().
    if (const char* value = std::getenv("SG_RELAY_SPLICE")) {  // NOLINT(concurrency-mt-unsafe)
        const std::string_view v = trim(value);
        if (v == "0" || iequals(v, "off") || iequals(v, "no") || iequals(v, "false")) options.splice = false;
    }
    return options;
}

asio::awaitable<RelayResult> relay(tcp::socket& a, tcp::socket& b, Clock::duration idle_timeout,
                                   RelayOptions options, RelayProgress* progress) {
    ignore_sigpipe();
    // splice(2) honours the sockets' O_NONBLOCK, and the buffered copy's synchronous reads must report
    // "would block" instead of waiting: Asio's user-level non-blocking mode gives both. Restored at the end
    // for callers that go on using the sockets.
    const bool a_was_non_blocking = a.non_blocking();
    const bool b_was_non_blocking = b.non_blocking();
    asio::error_code ignored;
    a.non_blocking(true, ignored);
    b.non_blocking(true, ignored);
    // The directions refer to this frame: it must not unwind before both have finished, even when the caller
    // cancels us.
    const bool threw_if_cancelled = co_await asio::this_coro::throw_if_cancelled();
    co_await asio::this_coro::throw_if_cancelled(false);
    const asio::cancellation_state cancel = co_await asio::this_coro::cancellation_state;
    const auto executor = co_await asio::this_coro::executor;
    PipePool& pool = asio::use_service<PipePool>(asio::query(executor, asio::execution::context));

    // Each direction runs as its own coroutine while this one is the idle watchdog. Racing the directions
    // and a watchdog coroutine with awaitable operators (&&, ||) cost twice the heap per idle relay
    // (8.1 KiB against 4.2 KiB, measured), and memory per idle connection limits how many a gateway holds.
    Direction ab;
    Direction ba;
    if (progress != nullptr) {
        ab.live = &progress->a_to_b;
        ba.live = &progress->b_to_a;
    }
    Shared shared;
    int finished = 0;
    Timer wake(executor);
    const auto on_finished = [&](const std::exception_ptr& error) {
        if (error)
            abort_both(shared, a, b);  // cannot happen short of bad_alloc; never leave the other behind
        ++finished;
        wake.cancel();
    };
    asio::co_spawn(executor, pump(a, b, ab, ba, shared, options, pool), on_finished);
    asio::co_spawn(executor, pump(b, a, ba, ab, shared, options, pool), on_finished);
    bool idle = false;
    while (finished < 2) {
        // After an abort only the directions' ends are awaited.
        wake.expires_at(shared.aborted ? Clock::time_point::max() : idle_deadline(shared, idle_timeout));
        co_await wake.async_wait(k_use_tuple);
        if (finished == 2 || shared.aborted) continue;
        if (cancel.cancelled() != asio::cancellation_type::none) {
            abort_both(shared, a, b);
        } else if (Clock::now() >= idle_deadline(shared, idle_timeout)) {
            idle = true;
            abort_both(shared, a, b);
        }
    }
    co_await asio::this_coro::throw_if_cancelled(threw_if_cancelled);
    a.non_blocking(a_was_non_blocking, ignored);
    b.non_blocking(b_was_non_blocking, ignored);

    RelayResult result{ab.bytes, ba.bytes, ab.spliced + ba.spliced, {}};
    if (idle) {
        result.end_reason = "idle timeout";
    } else if (ab.eof && ba.eof) {
        result.end_reason = "closed";
    } else {
        result.end_reason = ab.eof || ba.eof ? "reset after half-close" : "reset";
    }
    co_return result;
}

asio::awaitable<RelayResult> relay(tcp::socket& a, tcp::socket& b, Clock::duration idle_timeout,
                                   RelayProgress* progress) {
    return relay(a, b, idle_timeout, default_relay_options(), progress);
}

}  // namespace sg::net
