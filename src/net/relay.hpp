#pragma once
// Bidirectional TCP relay between two connected sockets: zero-copy with splice(2) where the kernel allows it,
// a buffered copy otherwise.
//
// Zero copy: each direction moves bytes source socket -> pipe -> destination socket with splice(2), waiting
// for readiness with the sockets' async_wait. Both sockets are in non-blocking mode while the relay runs
// (their previous mode is restored at the end).
// Backpressure: a direction reads only as much as its pipe has room for, and drains the pipe before waiting
// for the source again, so a slow reader leaves the backlog in the kernel's socket buffers and closes the
// sender's TCP window; user-space memory does not grow. In the buffered copy each direction awaits its write
// before the next read: at most one buffer per direction is in flight.
// Half-close: EOF on one side is passed on with shutdown(SHUT_WR) and the other direction keeps running, as
// TCP allows. Any error (reset, EPIPE) ends both directions at once.
//
// Cost per relayed connection. Idle: no pipe and no buffer; a pipe (2 descriptors, ~5 KiB of kernel memory
// at 256 KiB even when empty) or the copy buffer is taken only while data flows and given back as soon as
// the source has nothing more to read. An idle relay costs its coroutine frames, about 4.2 KiB of heap
// (measured, 1000 idle relays, Release); eager pipes would add 4 descriptors and ~10 KiB of kernel memory.
// Busy: one pipe per direction (4 descriptors), each holding at most `pipe_size` bytes of kernel pages;
// empty pipes are reused through a small per-io_context pool (PipePool in net/splice_pipe.hpp).
// Fallback: when splice(2) is refused on the first try (EINVAL, ENOSYS: socket types or sandboxes without
// it), the direction copies through a buffer for good; when no pipe can be opened (EMFILE, ENFILE, ENOMEM),
// that burst is copied through a buffer and the next one tries a pipe again. The relay keeps working in both.
//
// Requirements: the sockets' io_context runs on one thread, as the gateway's does (the two directions and the
// idle watchdog share plain state). splice(2) cannot pass MSG_NOSIGNAL, and Asio ignores SIGPIPE only on a
// few non-Linux systems, so relay() ignores SIGPIPE process-wide (see ignore_sigpipe): a splice into a reset
// socket then fails with EPIPE instead of killing the process and every session in it.

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/units.hpp"

namespace sg::net {

// Sets SIGPIPE to SIG_IGN for the whole process (idempotent). Every program that relays with splice(2) needs
// it; relay() calls it, and so does the gateway at start-up.
void ignore_sigpipe() noexcept;

struct RelayOptions {
    bool splice = true;  // false: always the buffered copy
    // Capacity asked for each direction's pipe (F_SETPIPE_SZ, rounded up to a power of two pages). It bounds
    // the bytes a direction holds between reading and writing. Measured on loopback: 64 KiB costs ~30% more
    // CPU per byte than 256 KiB; 1 MiB gains nothing more and costs 17 KiB of kernel memory per pipe
    // (256 KiB: 5 KiB).
    std::size_t pipe_size = 256 * k_kib;
    // The buffered copy's chunk, allocated only while data flows. 64 KiB saves ~25% CPU against 16 KiB but
    // quadruples the memory of a busy connection on a path that mostly runs when resources are short.
    std::size_t buffer_size = 16 * k_kib;
};

// RelayOptions{}, except that the environment variable SG_RELAY_SPLICE=0 (or off/no/false) turns splice off,
// so the fallback can be forced in a deployed gateway (measurements, kernels with broken splice).
RelayOptions default_relay_options();

struct RelayResult {
    std::uint64_t bytes_a_to_b = 0;
    std::uint64_t bytes_b_to_a = 0;
    std::uint64_t bytes_spliced = 0;  // of both directions, the bytes that went zero-copy
    // Static text: "closed" (both sides sent EOF), "idle timeout", "reset", "reset after half-close".
    std::string_view end_reason;
};

// Bytes moved so far, kept up to date while the relay runs, for callers that report live sessions (the admin
// API). Plain integers: the relay and its readers share one thread.
struct RelayProgress {
    std::uint64_t a_to_b = 0;
    std::uint64_t b_to_a = 0;
};

// Relays until both sides have closed, either side errors, or nothing moves for `idle_timeout`
// (duration::max(): never). Cancelling the awaiting coroutine ends it too ("reset"), once both directions
// have stopped. With `progress`, its counts follow the bytes written (it must outlive the call).
asio::awaitable<RelayResult> relay(asio::ip::tcp::socket& a, asio::ip::tcp::socket& b,
                                   std::chrono::steady_clock::duration idle_timeout, RelayOptions options,
                                   RelayProgress* progress = nullptr);

// The same with default_relay_options().
asio::awaitable<RelayResult> relay(asio::ip::tcp::socket& a, asio::ip::tcp::socket& b,
                                   std::chrono::steady_clock::duration idle_timeout,
                                   RelayProgress* progress = nullptr);

}  // namespace sg::net
