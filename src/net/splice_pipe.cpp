#include "net/splice_pipe.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <utility>

namespace sg::net {

SpliceResult splice_some(int in_fd, int out_fd, std::size_t max) noexcept {
    // SPLICE_F_NONBLOCK covers the pipe end only; the socket end follows its own O_NONBLOCK flag.
    const std::size_t len = max < std::size_t{INT_MAX} ? max : std::size_t{INT_MAX};
    for (;;) {
        const ssize_t n = ::splice(in_fd, nullptr, out_fd, nullptr, len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n >= 0) return SpliceResult{static_cast<std::size_t>(n), 0};
        if (errno != EINTR) return SpliceResult{0, errno};
    }
}

Pipe::~Pipe() {
    close();
}

Pipe::Pipe(Pipe&& other) noexcept
    : read_fd_(std::exchange(other.read_fd_, -1)),
      write_fd_(std::exchange(other.write_fd_, -1)),
      capacity_(std::exchange(other.capacity_, 0)),
      requested_(std::exchange(other.requested_, 0)) {}

Pipe& Pipe::operator=(Pipe&& other) noexcept {
    if (this != &other) {
        close();
        read_fd_ = std::exchange(other.read_fd_, -1);
        write_fd_ = std::exchange(other.write_fd_, -1);
        capacity_ = std::exchange(other.capacity_, 0);
        requested_ = std::exchange(other.requested_, 0);
    }
    return *this;
}

Pipe Pipe::open(std::size_t size, int& error) noexcept {
    int fds[2] = {-1, -1};
    if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
        error = errno;
        return Pipe{};
    }
    Pipe pipe;
    pipe.read_fd_ = fds[0];
    pipe.write_fd_ = fds[1];
    pipe.requested_ = size;
    if (size > 0 && size <= std::size_t{INT_MAX}) {
        // Failure is fine: the pipe keeps its default capacity (typically 64 KiB).
        (void)::fcntl(pipe.write_fd_, F_SETPIPE_SZ, static_cast<int>(size));
    }
    const int capacity = ::fcntl(pipe.write_fd_, F_GETPIPE_SZ);
    if (capacity <= 0) {
        error = capacity < 0 ? errno : EINVAL;
        return Pipe{};
    }
    pipe.capacity_ = static_cast<std::size_t>(capacity);
    error = 0;
    return pipe;
}

void Pipe::close() noexcept {
    if (read_fd_ >= 0) ::close(read_fd_);
    if (write_fd_ >= 0) ::close(write_fd_);
    read_fd_ = -1;
    write_fd_ = -1;
    capacity_ = 0;
}

asio::execution_context::id PipePool::id;

PipePool::PipePool(asio::execution_context& context) : asio::execution_context::service(context) {
    idle_.reserve(k_max_idle);
}

Pipe PipePool::acquire(std::size_t size, int& error) noexcept {
    for (auto it = idle_.rbegin(); it != idle_.rend(); ++it) {
        if (it->requested_size() == size) {
            Pipe pipe = std::move(*it);
            idle_.erase(std::next(it).base());
            error = 0;
            return pipe;
        }
    }
    return Pipe::open(size, error);
}

void PipePool::release(Pipe pipe) noexcept {
    if (pipe.valid() && idle_.size() < k_max_idle) idle_.push_back(std::move(pipe));
}

}  // namespace sg::net
