#pragma once
// Batched UDP I/O: recvmmsg(2)/sendmmsg(2) on an Asio UDP socket, one system call for many datagrams.
// The calls are made non-blocking on the socket's native handle; when the socket has nothing to read (or no
// room to write) the coroutine waits for readiness with async_wait, so the event loop never blocks. On a
// kernel without the batch calls (ENOSYS) both fall back, for the whole process, to recvmsg/sendmsg with
// one datagram per call; behaviour is otherwise the same.

#include <sys/socket.h>

#include <asio/awaitable.hpp>
#include <asio/ip/udp.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "common/byte_io.hpp"

namespace sg::net {

class ForkJoinPool;

// Receive slots for up to `capacity()` datagrams, refilled by each receive_batch().
class UdpReceiveBatch {
public:
    // `slot_size` 65536 holds any UDP datagram (the IPv6 maximum payload is 65527 bytes). The buffer is left
    // uninitialised, so the kernel commits pages only as datagrams fill them: a slot that only ever sees
    // small datagrams costs one page, not 64 KiB.
    UdpReceiveBatch(std::size_t capacity, std::size_t slot_size);

    std::size_t capacity() const noexcept { return slots_.size(); }
    std::size_t slot_size() const noexcept { return slot_size_; }
    // Datagrams held after the last receive_batch(), in arrival order.
    std::size_t size() const noexcept { return count_; }

    Bytes data(std::size_t i) const noexcept;
    const asio::ip::udp::endpoint& source(std::size_t i) const noexcept { return slots_[i].source; }
    // The datagram was longer than the slot: data() is its first slot_size() bytes only.
    bool truncated(std::size_t i) const noexcept { return slots_[i].truncated; }
    // The kernel gave a source address we cannot represent (not IPv4/IPv6): ignore the datagram.
    bool bad_source(std::size_t i) const noexcept { return slots_[i].bad_source; }
    // On a socket with receive coalescing (enable_receive_coalescing), the kernel may hand over a run of
    // datagrams of one sender as one: data(i) is then their bytes back to back, each segment_size(i) long
    // but the last, which may be shorter (datagram(i, k) cuts them apart). 0: data(i) is one datagram.
    std::size_t segment_size(std::size_t i) const noexcept { return slots_[i].segment_size; }
    // How many datagrams data(i) holds, and the k-th of them.
    std::size_t datagrams(std::size_t i) const noexcept;
    Bytes datagram(std::size_t i, std::size_t k) const noexcept;

    // One non-blocking receive of up to capacity() datagrams from `fd`, without waiting (for a caller that
    // waits for readiness itself): the number received (size() after it), or -errno (EAGAIN: nothing there).
    // Interrupted calls are retried; ENOSYS switches to the one-datagram fallback like receive_batch().
    // NOLINTNEXTLINE(bugprone-exception-escape): see the definition
    int receive_now(int fd) noexcept;

private:
    friend asio::awaitable<asio::error_code> receive_batch(asio::ip::udp::socket& socket,
                                                           UdpReceiveBatch& batch);
    struct Slot {
        asio::ip::udp::endpoint source;
        std::size_t length = 0;
        std::size_t segment_size = 0;
        bool truncated = false;
        bool bad_source = false;
    };
    // One non-blocking attempt: datagrams received, or -errno.
    int try_receive(int fd, bool batched);

    std::size_t slot_size_;
    std::unique_ptr<std::uint8_t[]> buffer_;
    std::vector<Slot> slots_;
    std::vector<::iovec> iovecs_;
    std::vector<::mmsghdr> headers_;
    std::vector<std::uint64_t> controls_;  // a UDP_GRO control block per slot, in words (see the .cpp)
    std::size_t count_ = 0;
};

// Asks the kernel to coalesce a run of datagrams from one sender into one receive (UDP_GRO): a sender's
// segmented message (UdpSendBatch with segmentation) arrives whole instead of cut apart, and a NIC's
// receive offload may join datagrams that arrive together. A UdpReceiveBatch reading the socket reports the
// runs (segment_size). False where the kernel has no such option: datagrams then come one by one.
bool enable_receive_coalescing(int fd) noexcept;

// Waits until at least one datagram is there and receives up to batch.capacity() of them. Returns an error
// only when the socket is unusable (closed, cancelled): transient errors such as an ICMP error queued on the
// socket are skipped.
asio::awaitable<asio::error_code> receive_batch(asio::ip::udp::socket& socket, UdpReceiveBatch& batch);

struct UdpSendResult {
    std::size_t sent = 0;
    std::size_t failed = 0;         // refused one by one (EMSGSIZE, ENETUNREACH, ...); the rest still went
    asio::error_code last_failure;  // why the last refused datagram was refused
    asio::error_code error;         // the socket is unusable (closed, cancelled): sending stopped there
    std::uint64_t body_bytes = 0;   // bodies of the datagrams sent (heads not counted)
};

// Datagrams to send, each made of a head and a body sent as one datagram without copying them together
// (e.g. a SOCKS UDP header in front of a payload still sitting in a receive slot). The bytes are views: they
// must stay valid until send_batch() returns.
//
// With segmentation on, consecutive datagrams to one destination leave as one message that the kernel cuts
// into datagrams (UDP generic segmentation offload, UDP_SEGMENT): a run of equal sizes, the last one may be
// shorter, as a video frame's RTP packets are. The kernel then routes, filters and queues the run once
// instead of once per datagram (or hands it to a NIC that cuts it in hardware); the receiver sees the same
// datagrams either way. A run the kernel refuses (a path MTU below the size, a device that cannot) goes out
// datagram by datagram instead.
class UdpSendBatch {
public:
    void clear() noexcept { entries_.clear(); }
    void add(const asio::ip::udp::endpoint& destination, Bytes head, Bytes body);
    std::size_t size() const noexcept { return entries_.size(); }
    bool empty() const noexcept { return entries_.empty(); }
    // After a send: whether datagram `i` was refused or dropped (counted in UdpSendResult::failed), so a
    // caller sending for many receivers charges each loss to its own receiver.
    bool failed(std::size_t i) const noexcept { return i < failed_.size() && failed_[i] != 0; }

    // Off by default: only a caller that queues a receiver's datagrams next to each other gains from it.
    void set_segmentation(bool on) noexcept { segmentation_ = on; }
    // After a send: the messages it was made of (a segmented run counts once).
    std::size_t messages() const noexcept { return messages_.size(); }

private:
    friend asio::awaitable<UdpSendResult> send_batch(asio::ip::udp::socket& socket, UdpSendBatch& batch);
    friend UdpSendResult send_batch_now(int fd, UdpSendBatch& batch, ForkJoinPool* pool);
    friend UdpSendResult send_range_now(int fd, UdpSendBatch& batch, std::size_t first, std::size_t last);
    struct Entry {
        asio::ip::udp::endpoint destination;
        Bytes head;
        Bytes body;
    };
    // Entries [first, first + count) as one message; `segment` is the UDP_SEGMENT size when count > 1.
    struct Message {
        std::size_t first = 0;
        std::size_t count = 1;
        std::uint16_t segment = 0;
    };
    // Cuts the entries into messages and points the kernel's message headers at them (once they no longer
    // move).
    void prepare();
    // How many entries from `first` can leave as one segmented message (1: none can join it).
    std::size_t run_length(std::size_t first) const noexcept;
    // One non-blocking attempt at messages [first, last): messages sent, or -errno.
    int try_send(int fd, std::size_t first, std::size_t last, bool batched);
    // The kernel refused message `m` alone (`err`): a segmented run goes again one datagram at a time, a
    // single datagram counts as failed.
    void refused(int fd, std::size_t m, int err, UdpSendResult& result);
    // Message `m` one datagram at a time, after the kernel refused it whole (`err`); never waits.
    void send_unsegmented(int fd, std::size_t m, int err, UdpSendResult& result);
    // Counts messages [first, first + count) as sent; note_failed: messages [first, last) as failed (`err`).
    void note_sent(std::size_t first, std::size_t count, UdpSendResult& result) const noexcept;
    void note_failed(std::size_t first, std::size_t last, int err, UdpSendResult& result) noexcept;

    bool segmentation_ = false;
    std::vector<Entry> entries_;
    std::vector<std::uint8_t> failed_;  // one flag per entry, set by the last send
    std::vector<Message> messages_;
    // Each message's control block (its UDP_SEGMENT size), k_control_words words apiece: words, so that every
    // block is aligned for cmsghdr.
    std::vector<std::uint64_t> controls_;
    std::vector<::iovec> iovecs_;     // two per entry, in entry order
    std::vector<::mmsghdr> headers_;  // one per message
};

// Sends every datagram of `batch`, waiting for room in the socket buffer when it is full (so a fast sender
// is throttled instead of dropping locally). A datagram the kernel refuses is counted and skipped.
asio::awaitable<UdpSendResult> send_batch(asio::ip::udp::socket& socket, UdpSendBatch& batch);

// Sends what `fd` takes now, without waiting: datagrams the socket buffer has no room for (EAGAIN) are
// dropped and counted as failed, as a router drops when its queue is full. For a caller that must not stall
// (a media relay); `error` is set when the socket is unusable (the rest then count as failed too).
//
// With a `pool`, a batch of at least k_parallel_send_min datagrams is cut into consecutive runs sent at the
// same time from the caller and the pool's helpers (fork_join_pool.hpp): several sendmmsg(2) calls on one
// socket, each on its own core. Which datagrams failed is known per datagram as before; only their order on
// the wire may interleave between runs (they go to different receivers: a fan-out).
UdpSendResult send_batch_now(int fd, UdpSendBatch& batch, ForkJoinPool* pool = nullptr);
// Datagrams per run of a batch sent in parallel: fewer are not worth waking a helper for.
inline constexpr std::size_t k_parallel_send_min = 128;

// One more datagram already queued on `socket`, read into `buffer` without waiting (the socket is made
// non-blocking for synchronous calls, which does not affect Asio's awaited ones): its size, or nothing when
// none is queued or the read failed (an error queued on the socket, such as an ICMP port unreachable, is
// then consumed here, not by the next awaited receive).
std::optional<std::size_t> receive_queued(asio::ip::udp::socket& socket, std::span<std::uint8_t> buffer,
                                          asio::ip::udp::endpoint& from);
inline constexpr std::size_t k_receive_burst = 32;

// The largest UDP datagram (the IPv6 maximum payload is 65527 octets), and the size of a take_burst buffer:
// room for a burst's datagrams side by side, and always for one more of the largest size.
inline constexpr std::size_t k_max_udp_datagram = 65536;
inline constexpr std::size_t k_burst_buffer_size = 2 * k_max_udp_datagram;

// For a loop just woken by one datagram (`first` octets at the start of `buffer`, from `from`): hands it to
// on_datagram(data, from), then the datagrams already queued behind it (a video frame's packets), so that the
// caller acts on the burst together; up to k_receive_burst in all, so that one busy socket does not hold
// the loop. Each datagram is read behind the one before, so all of a burst stay readable until take_burst
// returns: the caller may queue views of them and send once at the end. The burst ends early when `buffer`
// has no room left for a datagram of the largest size (a k_burst_buffer_size buffer holds 64 KiB of them).
// on_datagram returns false to stop early (the session ended).
template <typename OnDatagram>
void take_burst(asio::ip::udp::socket& socket, std::span<std::uint8_t> buffer, std::size_t first,
                asio::ip::udp::endpoint& from, OnDatagram&& on_datagram) {
    std::size_t offset = 0;
    std::size_t n = first;
    for (std::size_t read = 1;; ++read) {
        if (!on_datagram(std::span<const std::uint8_t>(buffer.data() + offset, n), from) ||
            read == k_receive_burst)
            return;
        offset += n;
        if (buffer.size() - offset < k_max_udp_datagram) return;
        const auto more = receive_queued(socket, buffer.subspan(offset, k_max_udp_datagram), from);
        if (!more) return;  // nothing more queued: the caller waits again
        n = *more;
    }
}

// Whether recvmmsg/sendmmsg are used (true until a call fails with ENOSYS). Tests turn them off to cover the
// one-datagram-per-call fallback.
bool batch_syscalls_enabled() noexcept;
void set_batch_syscalls_enabled(bool enabled) noexcept;
// Whether a batch with segmentation on may use UDP_SEGMENT (true until the kernel says it cannot at all).
bool segmentation_enabled() noexcept;
void set_segmentation_enabled(bool enabled) noexcept;

}  // namespace sg::net
