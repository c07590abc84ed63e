#include "net/edge_reactor.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <cerrno>

namespace sg::net {
namespace {

// Events taken from the epoll set per epoll_wait: a burst of a few hundred ready sockets takes one or two.
constexpr std::size_t k_events = 256;
// Turns of full-batch readers served per wakeup before the loop lets timers and control requests run.
constexpr std::size_t k_rounds = 8;

}  // namespace

EdgeReactor::EdgeReactor(asio::io_context& io, Unhandled where)
    : io_(io), where_(where), waiter_(io), events_(k_events) {
    const int fd = ::epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0) return;
    std::error_code ec;
    waiter_.assign(fd, ec);
    if (ec) ::close(fd);
}

EdgeReactor::~EdgeReactor() {
    std::error_code ignored;
    waiter_.close(ignored);
}

bool EdgeReactor::add(int fd, Reader& reader) {
    if (!valid()) return false;
    ::epoll_event event{};
    event.events = EPOLLIN | EPOLLET;
    event.data.ptr = &reader;
    if (::epoll_ctl(waiter_.native_handle(), EPOLL_CTL_ADD, fd, &event) != 0) return false;
    ++watched_;
    if (!running_) {
        running_ = true;
        asio::co_spawn(
            io_, [this, keep = owner_.lock()]() { return loop(); }, log_unhandled(where_));
    }
    return true;
}

void EdgeReactor::remove(int fd, Reader& reader) noexcept {
    if (valid()) ::epoll_ctl(waiter_.native_handle(), EPOLL_CTL_DEL, fd, nullptr);
    if (watched_ > 0) --watched_;
    pending_.erase(std::remove(pending_.begin(), pending_.end(), &reader), pending_.end());
    std::replace(serving_.begin(), serving_.end(), &reader, static_cast<Reader*>(nullptr));
    if (watched_ == 0) {
        std::error_code ignored;
        waiter_.cancel(ignored);  // the loop wakes, sees nothing watched and ends
    }
}

void EdgeReactor::collect_ready() {
    for (;;) {
        const int n =
            ::epoll_wait(waiter_.native_handle(), events_.data(), static_cast<int>(events_.size()), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        for (int i = 0; i < n; ++i)
            serving_.push_back(static_cast<Reader*>(events_[static_cast<std::size_t>(i)].data.ptr));
        if (static_cast<std::size_t>(n) < events_.size()) return;
    }
}

bool EdgeReactor::serve_ready(std::size_t max_rounds) {
    for (std::size_t round = 0; round < max_rounds; ++round) {
        serving_.swap(pending_);
        pending_.clear();
        if (round == 0) collect_ready();
        if (serving_.empty()) return false;
        // Indexes, not iterators: remove() may null an entry, never resizes this turn.
        for (std::size_t i = 0; i < serving_.size(); ++i) {
            Reader* reader = serving_[i];
            if (reader != nullptr && reader->on_readable()) pending_.push_back(reader);
        }
        serving_.clear();
        if (after_turn_) after_turn_();
    }
    return !pending_.empty();
}

asio::awaitable<void> EdgeReactor::loop() {
    bool more = false;
    while (watched_ > 0 && waiter_.is_open()) {
        std::error_code ec;
        if (more) {
            // Full batches still waiting: let the loop's other work run first, then go on without waiting.
            co_await asio::post(io_.get_executor(), asio::use_awaitable);
        } else {
            co_await waiter_.async_wait(asio::posix::stream_descriptor::wait_read,
                                        asio::redirect_error(asio::use_awaitable, ec));
        }
        if (ec == asio::error::operation_aborted) continue;  // the last socket went, or close(): see the top
        if (ec) {
            spdlog::error("{}: readiness wait failed: {}", to_string(where_), ec.message());
            break;
        }
        more = serve_ready(k_rounds);
    }
    running_ = false;
}

}  // namespace sg::net
