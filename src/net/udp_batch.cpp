#include "net/udp_batch.hpp"

#include <netinet/udp.h>
#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "net/fork_join_pool.hpp"
#include "net/use_tuple.hpp"

namespace sg::net {
namespace {

using asio::ip::udp;
// More runs than this would each be too short to be worth a thread.
constexpr std::size_t k_max_parallel_runs = 64;

// Process-wide: a kernel that lacks the calls lacks them for every socket.
std::atomic<bool> g_batch_syscalls{true};
std::atomic<bool> g_segmentation{true};

// A segmented run: the kernel takes up to 64 segments (UDP_MAX_SEGMENTS on older kernels), one IP packet's
// payload in all, each segment within the route's MTU (else EINVAL). Segments are kept within an Ethernet
// MTU: a larger datagram would leave as IP fragments, which segmentation does not make.
constexpr std::size_t k_max_segments = 64;
constexpr std::size_t k_max_segmented_payload = 65507;
constexpr std::size_t k_max_segment_v4 = 1500 - 20 - 8;
constexpr std::size_t k_max_segment_v6 = 1500 - 40 - 8;
// Control blocks live in whole words (std::uint64_t), which align a cmsghdr.
constexpr std::size_t words_for(std::size_t octets) {
    return (octets + sizeof(std::uint64_t) - 1) / sizeof(std::uint64_t);
}
static_assert(alignof(std::uint64_t) >= alignof(::cmsghdr));
// A control block holding one UDP_SEGMENT size, in UdpSendBatch::controls_.
constexpr std::size_t k_control_size = CMSG_SPACE(sizeof(std::uint16_t));
constexpr std::size_t k_control_words = words_for(k_control_size);
// A receive slot's control block: the UDP_GRO segment size the kernel reports (an int).
constexpr std::size_t k_receive_control_words = words_for(CMSG_SPACE(sizeof(int)));

// Errors that say the socket itself is unusable; anything else concerns one datagram (receiving: an ICMP
// error queued by an earlier send; sending: this destination or this size).
bool socket_unusable(int err) noexcept {
    return err == EBADF || err == ENOTSOCK || err == EFAULT || err == ENOSYS;
}

asio::error_code to_error(int err) noexcept {
    return {err, asio::error::get_system_category()};
}

}  // namespace

bool batch_syscalls_enabled() noexcept {
    return g_batch_syscalls.load(std::memory_order_relaxed);
}

void set_batch_syscalls_enabled(bool enabled) noexcept {
    g_batch_syscalls.store(enabled, std::memory_order_relaxed);
}

bool segmentation_enabled() noexcept {
    return g_segmentation.load(std::memory_order_relaxed);
}

void set_segmentation_enabled(bool enabled) noexcept {
    g_segmentation.store(enabled, std::memory_order_relaxed);
}

// --- receive ----------------------------------------------------------------------------------------------

UdpReceiveBatch::UdpReceiveBatch(std::size_t capacity, std::size_t slot_size)
    : slot_size_(std::max<std::size_t>(slot_size, 1)),
      buffer_(new std::uint8_t[std::max<std::size_t>(capacity, 1) * slot_size_]),
      slots_(std::max<std::size_t>(capacity, 1)),
      iovecs_(slots_.size()),
      headers_(slots_.size()),
      controls_(slots_.size() * k_receive_control_words) {
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        iovecs_[i].iov_base = buffer_.get() + i * slot_size_;
        iovecs_[i].iov_len = slot_size_;
        ::msghdr& h = headers_[i].msg_hdr;
        h = ::msghdr{};
        h.msg_name = slots_[i].source.data();
        h.msg_iov = &iovecs_[i];
        h.msg_iovlen = 1;
    }
}

Bytes UdpReceiveBatch::data(std::size_t i) const noexcept {
    return {buffer_.get() + i * slot_size_, slots_[i].length};
}

std::size_t UdpReceiveBatch::datagrams(std::size_t i) const noexcept {
    const Slot& slot = slots_[i];
    if (slot.segment_size == 0 || slot.length <= slot.segment_size) return 1;
    return (slot.length + slot.segment_size - 1) / slot.segment_size;
}

Bytes UdpReceiveBatch::datagram(std::size_t i, std::size_t k) const noexcept {
    const Bytes all = data(i);
    const std::size_t size = slots_[i].segment_size == 0 ? all.size() : slots_[i].segment_size;
    const std::size_t offset = std::min(all.size(), k * size);
    return all.subspan(offset, std::min(size, all.size() - offset));
}

bool enable_receive_coalescing(int fd) noexcept {
    const int on = 1;
    return ::setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof(on)) == 0;
}

int UdpReceiveBatch::try_receive(int fd, bool batched) {
    const std::size_t n = batched ? slots_.size() : 1;
    for (std::size_t i = 0; i < n; ++i) {
        headers_[i].msg_hdr.msg_namelen = static_cast<::socklen_t>(slots_[i].source.capacity());
        headers_[i].msg_hdr.msg_flags = 0;
        headers_[i].msg_hdr.msg_control = &controls_[i * k_receive_control_words];
        headers_[i].msg_hdr.msg_controllen = k_receive_control_words * sizeof(std::uint64_t);
        headers_[i].msg_len = 0;
    }
    int got = 0;
    if (batched) {
        got = ::recvmmsg(fd, headers_.data(), static_cast<unsigned>(n), MSG_DONTWAIT, nullptr);
    } else {
        const ::ssize_t r = ::recvmsg(fd, &headers_[0].msg_hdr, MSG_DONTWAIT);
        if (r >= 0) headers_[0].msg_len = static_cast<unsigned>(r);
        got = r < 0 ? -1 : 1;
    }
    if (got < 0) return -errno;
    for (std::size_t i = 0; i < static_cast<std::size_t>(got); ++i) {
        Slot& slot = slots_[i];
        ::msghdr& h = headers_[i].msg_hdr;
        slot.length = std::min<std::size_t>(headers_[i].msg_len, slot_size_);
        slot.truncated = (h.msg_flags & MSG_TRUNC) != 0;
        // A coalesced run (enable_receive_coalescing) says its segment size; anything else says nothing.
        slot.segment_size = 0;
        for (::cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
            if (c->cmsg_level != SOL_UDP || c->cmsg_type != UDP_GRO || c->cmsg_len < CMSG_LEN(sizeof(int)))
                continue;
            int size = 0;
            std::memcpy(&size, CMSG_DATA(c), sizeof(size));
            if (size > 0) slot.segment_size = static_cast<std::size_t>(size);
        }
        const auto family = slot.source.data()->sa_family;
        slot.bad_source = h.msg_namelen < sizeof(::sockaddr_in) || h.msg_namelen > slot.source.capacity() ||
                          (family != AF_INET && family != AF_INET6);
        // Only a size the endpoint can hold reaches resize(), which would throw otherwise.
        if (!slot.bad_source) slot.source.resize(h.msg_namelen);
    }
    return got;
}

// try_receive() can throw only from endpoint::resize() with a length above the endpoint's capacity, which it
// checks first.
// NOLINTNEXTLINE(bugprone-exception-escape)
int UdpReceiveBatch::receive_now(int fd) noexcept {
    count_ = 0;
    for (;;) {
        const bool batched = batch_syscalls_enabled();
        const int got = try_receive(fd, batched);
        if (got > 0) {
            count_ = static_cast<std::size_t>(got);
            return got;
        }
        const int err = got == 0 ? EAGAIN : -got;
        if (err == EINTR) continue;
        if (err == ENOSYS && batched) {
            set_batch_syscalls_enabled(false);
            continue;
        }
        return -err;
    }
}

asio::awaitable<asio::error_code> receive_batch(udp::socket& socket, UdpReceiveBatch& batch) {
    batch.count_ = 0;
    for (;;) {
        if (!socket.is_open()) co_return asio::error::bad_descriptor;
        const bool batched = batch_syscalls_enabled();
        const int got = batch.try_receive(socket.native_handle(), batched);
        if (got > 0) {
            batch.count_ = static_cast<std::size_t>(got);
            co_return asio::error_code{};
        }
        const int err = got == 0 ? EAGAIN : -got;
        if (err == EAGAIN || err == EWOULDBLOCK) {
            auto [ec] = co_await socket.async_wait(udp::socket::wait_read, k_use_tuple);
            if (ec) co_return ec;
        } else if (err == ENOSYS && batched) {
            set_batch_syscalls_enabled(false);
        } else if (socket_unusable(err) || err == EINVAL || err == ENOMEM) {
            co_return to_error(err);  // would fail the same way again: retrying would spin
        }
        // EINTR and per-datagram errors (an ICMP error consumed by this call): try again.
    }
}

// --- send -------------------------------------------------------------------------------------------------

void UdpSendBatch::add(const udp::endpoint& destination, Bytes head, Bytes body) {
    entries_.push_back(Entry{destination, head, body});
}

std::size_t UdpSendBatch::run_length(std::size_t first) const noexcept {
    const Entry& lead = entries_[first];
    const std::size_t size = lead.head.size() + lead.body.size();
    const std::size_t largest =
        lead.destination.protocol() == udp::v6() ? k_max_segment_v6 : k_max_segment_v4;
    if (size == 0 || size > largest) return 1;
    std::size_t count = 1;
    std::size_t total = size;
    while (first + count < entries_.size() && count < k_max_segments) {
        const Entry& next = entries_[first + count];
        const std::size_t next_size = next.head.size() + next.body.size();
        if (next_size == 0 || next_size > size || total + next_size > k_max_segmented_payload ||
            next.destination != lead.destination)
            break;
        total += next_size;
        ++count;
        if (next_size < size) break;  // only the last segment may be shorter
    }
    return count;
}

void UdpSendBatch::prepare() {
    failed_.assign(entries_.size(), 0);
    iovecs_.resize(entries_.size() * 2);
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        Entry& e = entries_[i];
        // The kernel only reads through these pointers; iovec and msghdr simply have no const versions.
        iovecs_[2 * i] = ::iovec{const_cast<std::uint8_t*>(e.head.data()), e.head.size()};
        iovecs_[2 * i + 1] = ::iovec{const_cast<std::uint8_t*>(e.body.data()), e.body.size()};
    }
    messages_.clear();
    const bool segment = segmentation_ && segmentation_enabled();
    for (std::size_t i = 0; i < entries_.size();) {
        const std::size_t count = segment ? run_length(i) : 1;
        const auto size = static_cast<std::uint16_t>(entries_[i].head.size() + entries_[i].body.size());
        messages_.push_back(Message{i, count, count > 1 ? size : std::uint16_t{0}});
        i += count;
    }
    headers_.resize(messages_.size());
    controls_.resize(messages_.size() * k_control_words);
    for (std::size_t m = 0; m < messages_.size(); ++m) {
        const Message& message = messages_[m];
        Entry& e = entries_[message.first];
        ::msghdr& h = headers_[m].msg_hdr;
        h = ::msghdr{};
        h.msg_name = e.destination.data();
        h.msg_namelen = static_cast<::socklen_t>(e.destination.size());
        h.msg_iov = &iovecs_[2 * message.first];
        h.msg_iovlen = 2 * message.count;
        headers_[m].msg_len = 0;
        if (message.count == 1) continue;
        h.msg_control = &controls_[m * k_control_words];
        h.msg_controllen = k_control_size;
        ::cmsghdr* c = CMSG_FIRSTHDR(&h);
        c->cmsg_level = SOL_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
        std::memcpy(CMSG_DATA(c), &message.segment, sizeof(message.segment));
    }
}

int UdpSendBatch::try_send(int fd, std::size_t first, std::size_t last, bool batched) {
    if (batched) {
        // The kernel caps one call at UIO_MAXIOV messages; the caller loops for the rest.
        const auto n = static_cast<unsigned>(std::min<std::size_t>(last - first, UIO_MAXIOV));
        const int sent = ::sendmmsg(fd, headers_.data() + first, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        return sent < 0 ? -errno : sent;
    }
    const ::ssize_t r = ::sendmsg(fd, &headers_[first].msg_hdr, MSG_DONTWAIT | MSG_NOSIGNAL);
    return r < 0 ? -errno : 1;
}

void UdpSendBatch::note_sent(std::size_t first, std::size_t count, UdpSendResult& result) const noexcept {
    for (std::size_t m = first; m < first + count; ++m) {
        const Message& message = messages_[m];
        for (std::size_t i = message.first; i < message.first + message.count; ++i)
            result.body_bytes += entries_[i].body.size();
        result.sent += message.count;
    }
}

void UdpSendBatch::note_failed(std::size_t first, std::size_t last, int err, UdpSendResult& result) noexcept {
    for (std::size_t m = first; m < last; ++m) {
        const Message& message = messages_[m];
        std::fill_n(failed_.begin() + static_cast<std::ptrdiff_t>(message.first), message.count, 1);
        result.failed += message.count;
    }
    result.last_failure = to_error(err);
}

void UdpSendBatch::refused(int fd, std::size_t m, int err, UdpSendResult& result) {
    if (messages_[m].count > 1) {
        send_unsegmented(fd, m, err, result);
    } else {
        note_failed(m, m + 1, err, result);
    }
}

void UdpSendBatch::send_unsegmented(int fd, std::size_t m, int err, UdpSendResult& result) {
    // EIO: the route's device cannot checksum a segmented run, so no run will go; turn them off rather than
    // pay a refused call per run. EINVAL or EMSGSIZE concern this run (a path MTU below its size).
    if (err == EIO || err == ENOPROTOOPT || err == EOPNOTSUPP) set_segmentation_enabled(false);
    const Message& message = messages_[m];
    for (std::size_t i = message.first; i < message.first + message.count; ++i) {
        ::msghdr h = headers_[m].msg_hdr;
        h.msg_iov = &iovecs_[2 * i];
        h.msg_iovlen = 2;
        h.msg_control = nullptr;
        h.msg_controllen = 0;
        ::ssize_t r = 0;
        do {
            r = ::sendmsg(fd, &h, MSG_DONTWAIT | MSG_NOSIGNAL);
        } while (r < 0 && errno == EINTR);
        if (r >= 0) {
            ++result.sent;
            result.body_bytes += entries_[i].body.size();
        } else {
            failed_[i] = 1;
            ++result.failed;
            result.last_failure = to_error(errno);
        }
    }
}

// Sends messages [first, last) of a prepared batch. Runs of one batch may be sent from several threads at
// once: each writes only its own entries' failure flags.
UdpSendResult send_range_now(int fd, UdpSendBatch& batch, std::size_t first, std::size_t last) {
    UdpSendResult result;
    std::size_t next = first;
    while (next < last) {
        const bool batched = batch_syscalls_enabled();
        const int sent = batch.try_send(fd, next, last, batched);
        if (sent > 0) {
            batch.note_sent(next, static_cast<std::size_t>(sent), result);
            next += static_cast<std::size_t>(sent);
            continue;
        }
        const int err = sent == 0 ? EAGAIN : -sent;
        if (err == EINTR) continue;
        if (err == ENOSYS && batched) {
            set_batch_syscalls_enabled(false);
            continue;
        }
        if (err == EAGAIN || err == EWOULDBLOCK || socket_unusable(err)) {
            // No room now (or no socket): the rest are dropped, not queued.
            if (socket_unusable(err)) result.error = to_error(err);
            batch.note_failed(next, last, err, result);
            break;
        }
        // This message only (too big, no route, not permitted, ...): the following ones may still go.
        batch.refused(fd, next, err, result);
        ++next;
    }
    return result;
}

std::optional<std::size_t> receive_queued(udp::socket& socket, std::span<std::uint8_t> buffer,
                                          udp::endpoint& from) {
    asio::error_code ec;
    // Set once per socket: it is a system call.
    if (!socket.non_blocking()) socket.non_blocking(true, ec);
    if (ec) return std::nullopt;
    const std::size_t n = socket.receive_from(asio::buffer(buffer.data(), buffer.size()), from, 0, ec);
    if (ec) return std::nullopt;
    return n;
}

UdpSendResult send_batch_now(int fd, UdpSendBatch& batch, ForkJoinPool* pool) {
    batch.prepare();
    const std::size_t total = batch.messages_.size();
    // A few runs per thread rather than one: a helper that wakes late still finds runs left to take, so
    // the threads share the work as they become free. Runs are cut by messages, sized by datagrams.
    const std::size_t runs = pool == nullptr
                                 ? 1
                                 : std::clamp<std::size_t>(batch.entries_.size() / k_parallel_send_min, 1,
                                                           std::min(total, 4 * (pool->helpers() + 1)));
    if (runs <= 1) return send_range_now(fd, batch, 0, total);
    std::array<UdpSendResult, k_max_parallel_runs> results;
    const std::size_t used = std::min(runs, results.size());
    pool->run(used, [&](std::size_t run) {
        results[run] = send_range_now(fd, batch, total * run / used, total * (run + 1) / used);
    });
    UdpSendResult merged;
    for (std::size_t run = 0; run < used; ++run) {
        const auto& r = results[run];
        merged.sent += r.sent;
        merged.failed += r.failed;
        merged.body_bytes += r.body_bytes;
        if (r.last_failure) merged.last_failure = r.last_failure;
        if (r.error) merged.error = r.error;
    }
    return merged;
}

asio::awaitable<UdpSendResult> send_batch(udp::socket& socket, UdpSendBatch& batch) {
    UdpSendResult result;
    batch.prepare();
    const std::size_t total = batch.messages_.size();
    std::size_t next = 0;
    while (next < total) {
        if (!socket.is_open()) {
            result.error = asio::error::bad_descriptor;
            break;
        }
        const bool batched = batch_syscalls_enabled();
        const int sent = batch.try_send(socket.native_handle(), next, total, batched);
        if (sent > 0) {
            batch.note_sent(next, static_cast<std::size_t>(sent), result);
            next += static_cast<std::size_t>(sent);
            continue;
        }
        const int err = sent == 0 ? EAGAIN : -sent;
        if (err == EAGAIN || err == EWOULDBLOCK) {
            auto [ec] = co_await socket.async_wait(udp::socket::wait_write, k_use_tuple);
            if (ec) {
                result.error = ec;
                break;
            }
        } else if (err == EINTR) {
            continue;
        } else if (err == ENOSYS && batched) {
            set_batch_syscalls_enabled(false);
        } else if (socket_unusable(err)) {
            result.error = to_error(err);
            break;
        } else {
            // This message only (too big, no route, not permitted, ...): the following ones may still go.
            batch.refused(socket.native_handle(), next, err, result);
            ++next;
        }
    }
    // Never tried: flagged for their receivers, but `error` is what the caller counts.
    if (result.error && next < total)
        std::fill(batch.failed_.begin() + static_cast<std::ptrdiff_t>(batch.messages_[next].first),
                  batch.failed_.end(), 1);
    co_return result;
}

}  // namespace sg::net
