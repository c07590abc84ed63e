#pragma once
// Many UDP sockets served by one io_uring: each socket has one multishot recvmsg armed for its whole life,
// datagrams land in a ring of provided buffers, and a datagram is sent on (a send with its destination) from
// the buffer it arrived in. All the sends of a wakeup go to the kernel in one io_uring_enter.
//
// Why, next to EdgeReactor and recvmmsg/sendmmsg: a relayed call leg carries 50 packets a second, so a
// readable socket holds one datagram and its "batch" is one packet; with epoll that is a recvmmsg and a
// sendmmsg system call per packet, plus epoll's poll of every ready socket. Here a wakeup costs one
// io_uring_enter however many sockets were served; the kernel's UDP work per packet stays.
//
// Needs Linux 6.0 (multishot recvmsg, provided-buffer rings); create() says why when the kernel, a sysctl
// (kernel.io_uring_disabled) or a seccomp filter refuses, and the caller falls back to EdgeReactor.
// Threading: everything runs on the io_context's thread.

// A C++ standard header before Asio's (see edge_reactor.hpp).
#include <chrono>
#include <cstddef>

#include <sys/socket.h>

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/byte_io.hpp"
#include "net/unhandled.hpp"

namespace sg::net {

// One received datagram, valid during the handler's call only.
struct UringDatagram {
    std::uint64_t tag = 0;  // the socket's tag, as given to add()
    const ::sockaddr* source = nullptr;
    ::socklen_t source_length = 0;
    Bytes payload;
    bool truncated = false;  // longer than a buffer holds: payload is its beginning only
    // When the wakeup that found it began: one clock read per wakeup, not per datagram.
    std::chrono::steady_clock::time_point found_at{};
};

struct UringCounters {
    std::uint64_t received = 0;
    std::uint64_t sent = 0;
    std::uint64_t send_failures = 0;     // refused by the kernel, or no room in the socket buffer (dropped)
    std::uint64_t buffer_shortages = 0;  // a receive stopped for want of buffers and was armed again
};

class UringUdp {
public:
    struct Options {
        unsigned buffers = 4096;      // provided buffers (a power of two, at most 32768)
        unsigned buffer_size = 2048;  // per buffer: the recvmsg header, the source address and the datagram
        unsigned entries = 1024;      // submission queue entries
        unsigned registered_sockets =
            16384;  // sockets used without a descriptor lookup (capped by RLIMIT_NOFILE)
    };
    using Handler = std::function<void(const UringDatagram&)>;

    // nullptr, with the reason in `why`, when io_uring cannot be used here.
    static std::unique_ptr<UringUdp> create(asio::io_context& io, Unhandled where, const Options& options,
                                            std::string& why);
    ~UringUdp();
    UringUdp(const UringUdp&) = delete;
    UringUdp& operator=(const UringUdp&) = delete;

    // Called for every datagram received on any added socket.
    void set_handler(Handler handler) { handler_ = std::move(handler); }

    // Starts receiving on `fd` (a bound UDP socket); `tag` comes back with each datagram. False when the
    // ring refuses.
    bool add(int fd, std::uint64_t tag);
    // Stops receiving on the socket added with `tag`; the caller may close it right after.
    void remove(std::uint64_t tag) noexcept;
    std::size_t watched() const noexcept { return watching_.size(); }

    // Inside the handler only: sends the datagram being handled, unchanged, out of the socket added with
    // `out_tag` to `destination`, without copying it. At most once per datagram. A send the socket has no
    // room for is dropped and counted, as a router drops when its queue is full.
    void forward(std::uint64_t out_tag, const ::sockaddr* destination, ::socklen_t destination_length);

    const UringCounters& counters() const noexcept { return counters_; }

    struct Ring;
    struct Receiver;

private:
    UringUdp(asio::io_context& io, Unhandled where, std::unique_ptr<Ring> ring);
    asio::awaitable<void> loop();
    // Takes every completion there is, runs the handler, gives buffers back, re-arms receives, submits.
    // True when completions came.
    bool serve();
    void on_receive(Receiver& receiver, int result, unsigned flags);
    void arm(Receiver& receiver);
    void release_slot(Receiver& receiver) noexcept;

    asio::io_context& io_;
    Unhandled where_;
    std::unique_ptr<Ring> ring_;
    asio::posix::stream_descriptor waiter_;
    Handler handler_;
    std::unordered_map<std::uint64_t, std::unique_ptr<Receiver>> watching_;  // by tag
    // Removed, their receive cancelled, waiting for its last completion.
    std::unordered_map<const Receiver*, std::unique_ptr<Receiver>> ending_;
    std::vector<Receiver*> to_arm_;     // receives that ended for want of buffers
    std::vector<unsigned> free_slots_;  // of the registered file table
    int handled_buffer_ = -1;           // the buffer of the datagram in the handler; -1 once forwarded
    Bytes handled_payload_;
    std::chrono::steady_clock::time_point serving_since_{};  // the start of the current serve()
    bool running_ = false;
    UringCounters counters_;
};

}  // namespace sg::net
