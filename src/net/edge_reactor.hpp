#pragma once
// Readiness for many datagram sockets behind one Asio wait: the shard's own epoll set, edge-triggered, one
// registration per socket for its whole life, waited on by a single async_wait on the epoll descriptor.
//
// Why not one Asio async_wait per socket: a relayed call leg carries 50 packets a second, so each wakeup of a
// socket finds one datagram, and Asio 1.22 re-arms the descriptor (epoll_ctl) on every wait, then the
// coroutine reads until EAGAIN: four system calls and an operation allocation per packet. Here a wakeup
// serves every ready socket, a socket is never re-armed, and a reader that got fewer datagrams than it asked
// for stops there: the queue was empty, and UDP raises a new edge for each datagram that arrives after that.
//
// Used by `streamgate relay`'s media sockets (one reactor per shard) and `streamgate turn`'s listeners and
// relayed sockets. Threading: everything runs on the io_context's thread.

#include <sys/epoll.h>

// A C++ standard header before Asio's: Asio chooses how it allocates coroutine frames (aligned_alloc or
// operator new) from a libstdc++ macro that only a C++ header defines. A file whose first C++ header is
// Asio's would choose differently from all the others, and the linker keeps one inline allocator and the
// other's deallocator (ASan: alloc-dealloc-mismatch).
#include <cstddef>

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <functional>
#include <memory>
#include <vector>

#include "net/unhandled.hpp"

namespace sg::net {

class EdgeReactor {
public:
    class Reader {
    public:
        // Reads at most one batch from the descriptor. True when the batch came back full, so more may be
        // queued: the reactor calls again once the other ready readers had their turn. False when it came
        // back short (the queue was empty) or failed.
        virtual bool on_readable() = 0;

    protected:
        ~Reader() = default;
    };

    // `where` names the owner in logs and in the unhandled-exception metric.
    EdgeReactor(asio::io_context& io, Unhandled where);
    ~EdgeReactor();
    EdgeReactor(const EdgeReactor&) = delete;
    EdgeReactor& operator=(const EdgeReactor&) = delete;

    // False when the epoll set could not be made (descriptors ran out): add() then fails.
    bool valid() const noexcept { return waiter_.is_open(); }

    // Watches `fd` for input until remove(). Starts the wait loop if it was idle. False when epoll refuses.
    bool add(int fd, Reader& reader);
    // Call before closing `fd`: `reader` is not called again. The wait loop ends once nothing is watched,
    // so an io_context with no sockets runs out of work as before.
    void remove(int fd, Reader& reader) noexcept;

    std::size_t watched() const noexcept { return watched_; }

    // For a reactor owned through a shared_ptr (shared by the sockets of many owners): its wait loop keeps
    // `owner` alive while it runs, so the last owner may let go while the loop still has to wake once.
    void set_owner(std::weak_ptr<void> owner) { owner_ = std::move(owner); }

    // Called after each turn of readers (every ready reader read once): a reader may queue what it has to
    // send and leave it to this hook, so one sendmmsg carries what many sockets' batches produced.
    void set_after_turn(std::function<void()> after_turn) { after_turn_ = std::move(after_turn); }

    // Serves what is ready now, without waiting: every reader reported ready, then the ones whose batch
    // was full, in turns, up to `max_rounds` turns. True when some still had a full batch at the end.
    bool serve_ready(std::size_t max_rounds);

private:
    asio::awaitable<void> loop();
    void collect_ready();

    asio::io_context& io_;
    Unhandled where_;
    std::function<void()> after_turn_;
    std::weak_ptr<void> owner_;
    asio::posix::stream_descriptor waiter_;
    std::vector<::epoll_event> events_;
    std::vector<Reader*> pending_;  // full batch last time: read again
    std::vector<Reader*> serving_;  // the turn being served (remove() clears its entry)
    std::size_t watched_ = 0;
    bool running_ = false;
};

}  // namespace sg::net
