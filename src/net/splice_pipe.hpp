#pragma once
// Pipes as the kernel-side buffer of splice(2) (Linux), and a per-io_context pool of empty ones.
//
// The TCP relay moves bytes socket -> pipe -> socket with splice(2), so they never enter user space. A pipe
// costs two descriptors and kernel memory (its inode and slot array; data pages only while bytes sit in it),
// so relays lease a pipe while data flows and hand it back empty, instead of every (mostly idle) connection
// holding two pipes for its lifetime.

#include <asio/execution_context.hpp>
#include <cstddef>
#include <vector>

namespace sg::net {

// Outcome of one splice(2) call: bytes moved, or an errno value. Zero bytes with no error is end of file.
struct SpliceResult {
    std::size_t bytes = 0;
    int error = 0;
};

// Moves up to `max` bytes from `in_fd` to `out_fd`, one of which is a pipe. Never blocks on the pipe side;
// the socket side blocks unless the socket is non-blocking, so callers make their sockets non-blocking.
SpliceResult splice_some(int in_fd, int out_fd, std::size_t max) noexcept;

// One non-blocking, close-on-exec pipe. Move-only; closes both ends on destruction.
class Pipe {
public:
    Pipe() noexcept = default;
    ~Pipe();
    Pipe(Pipe&& other) noexcept;
    Pipe& operator=(Pipe&& other) noexcept;
    Pipe(const Pipe&) = delete;
    Pipe& operator=(const Pipe&) = delete;

    // Opens a pipe and asks for `size` bytes of capacity (0: the kernel default). If the kernel refuses the
    // size (above fs.pipe-max-size, or the user's pipe quota), the pipe keeps the capacity it has. On failure
    // (EMFILE, ENFILE, ENOMEM) returns an invalid pipe and sets `error` to errno.
    static Pipe open(std::size_t size, int& error) noexcept;

    bool valid() const noexcept { return read_fd_ >= 0; }
    int read_fd() const noexcept { return read_fd_; }
    int write_fd() const noexcept { return write_fd_; }
    std::size_t capacity() const noexcept { return capacity_; }
    std::size_t requested_size() const noexcept { return requested_; }
    void close() noexcept;

private:
    int read_fd_ = -1;
    int write_fd_ = -1;
    std::size_t capacity_ = 0;
    std::size_t requested_ = 0;
};

// Empty pipes kept for reuse by the relays of one io_context. An Asio service, so the pipes are closed with
// the context. Not thread-safe: like the gateway's, the context must run on a single thread.
class PipePool : public asio::execution_context::service {
public:
    static asio::execution_context::id id;
    // Enough to cover the connections that are busy at the same moment; the rest are idle and hold none.
    static constexpr std::size_t k_max_idle = 16;

    explicit PipePool(asio::execution_context& context);

    // A pooled pipe opened with the same requested size, else a new one (see Pipe::open).
    Pipe acquire(std::size_t size, int& error) noexcept;
    // Takes back an EMPTY pipe (leftover bytes would leak into another connection). Beyond k_max_idle the
    // pipe is closed.
    void release(Pipe pipe) noexcept;
    std::size_t idle() const noexcept { return idle_.size(); }
    void clear() noexcept { idle_.clear(); }

private:
    void shutdown() override { clear(); }

    std::vector<Pipe> idle_;
};

}  // namespace sg::net
