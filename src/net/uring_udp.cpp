#include "net/uring_udp.hpp"

#include <liburing.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace sg::net {
namespace {

// user_data of a send carries its buffer id with this bit set; a receive's is its Receiver's address
// (aligned, so the bit is clear); a cancellation's is zero and its completion is ignored.
constexpr std::uint64_t k_send_bit = 1;
constexpr unsigned k_buffer_group = 0;
// Rounds of completions served per wakeup before the loop lets timers and control requests run.
constexpr int k_rounds = 8;

std::string describe(int error) {
    return std::error_code(error, std::generic_category()).message();
}

}  // namespace

struct UringUdp::Receiver {
    int fd = -1;
    int slot = -1;  // in the ring's registered file table, or -1: used by its descriptor
    std::uint64_t tag = 0;
    bool armed = false;    // a multishot receive is in the kernel
    bool removed = false;  // remove() was called: freed when its receive has ended
};

// The ring, the provided buffers and the destination each in-flight send needs kept (one per buffer, since
// a send always goes out of the buffer its datagram arrived in).
struct UringUdp::Ring {
    struct Send {
        ::sockaddr_storage destination{};
    };

    ~Ring() {
        if (initialised) ::io_uring_queue_exit(&ring);
        if (buffer_ring != nullptr) ::munmap(buffer_ring, ring_bytes);
    }
    std::uint8_t* buffer(unsigned id) noexcept { return memory.get() + std::size_t{id} * buffer_size; }
    void give_back(unsigned id) noexcept {
        ::io_uring_buf_ring_add(buffer_ring, buffer(id), buffer_size, static_cast<unsigned short>(id),
                                ::io_uring_buf_ring_mask(buffer_count), static_cast<int>(returned));
        ++returned;
    }
    void publish_returned() noexcept {
        if (returned == 0) return;
        ::io_uring_buf_ring_advance(buffer_ring, static_cast<int>(returned));
        free_buffers += returned;
        returned = 0;
    }
    ::io_uring_sqe* sqe() noexcept {
        ::io_uring_sqe* entry = ::io_uring_get_sqe(&ring);
        if (entry == nullptr) {
            ::io_uring_submit(&ring);  // full: hand what is queued to the kernel, then there is room
            entry = ::io_uring_get_sqe(&ring);
        }
        return entry;
    }

    ::io_uring ring{};
    bool initialised = false;
    ::io_uring_buf_ring* buffer_ring = nullptr;
    std::size_t ring_bytes = 0;
    unsigned buffer_count = 0;
    unsigned slots = 0;  // registered file table size
    unsigned buffer_size = 0;
    unsigned returned = 0;      // given back since the last publish_returned()
    unsigned free_buffers = 0;  // roughly: published minus what receives took (for re-arming)
    std::unique_ptr<std::uint8_t[]> memory;
    std::vector<Send> sends;
    // The receive template: how much of each buffer the source address may take (no control data).
    ::msghdr receive_header{};
};

std::unique_ptr<UringUdp> UringUdp::create(asio::io_context& io, Unhandled where, const Options& options,
                                           std::string& why) {
    if (options.buffers == 0 || options.buffers > 32768 || (options.buffers & (options.buffers - 1)) != 0 ||
        options.buffer_size < 256) {
        why = "bad buffer geometry";
        return nullptr;
    }
    auto ring = std::make_unique<Ring>();
    ::io_uring_params params{};
    params.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE | IORING_SETUP_COOP_TASKRUN;
    params.cq_entries = std::max(options.entries, options.buffers) * 2;
    int rc = ::io_uring_queue_init_params(options.entries, &ring->ring, &params);
    if (rc < 0) {
        why = std::string("io_uring_setup: ") + describe(-rc);
        return nullptr;
    }
    ring->initialised = true;
    if ((params.features & IORING_FEAT_NODROP) == 0) {
        why = "kernel too old (no IORING_FEAT_NODROP)";
        return nullptr;
    }
    ring->buffer_count = options.buffers;
    ring->buffer_size = options.buffer_size;
    ring->ring_bytes = sizeof(::io_uring_buf) * options.buffers;
    void* mapped =
        ::mmap(nullptr, ring->ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (mapped == MAP_FAILED) {
        why = std::string("mmap: ") + describe(errno);
        return nullptr;
    }
    ring->buffer_ring = static_cast<::io_uring_buf_ring*>(mapped);
    ::io_uring_buf_ring_init(ring->buffer_ring);
    ::io_uring_buf_reg registration{};
    registration.ring_addr = reinterpret_cast<std::uint64_t>(mapped);
    registration.ring_entries = options.buffers;
    registration.bgid = k_buffer_group;
    rc = ::io_uring_register_buf_ring(&ring->ring, &registration, 0);
    if (rc < 0) {
        why = std::string("provided buffer ring: ") + describe(-rc);
        return nullptr;
    }
    // Registered sockets, as many as the descriptor limit allows (the kernel refuses more).
    ::rlimit limit{};
    unsigned slots = options.registered_sockets;
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < slots)
        slots = static_cast<unsigned>(limit.rlim_cur);
    if (slots > 0 && ::io_uring_register_files_sparse(&ring->ring, slots) == 0) ring->slots = slots;
    // Uninitialised: the kernel commits pages as datagrams fill them.
    ring->memory.reset(new std::uint8_t[std::size_t{options.buffers} * options.buffer_size]);
    ring->sends.resize(options.buffers);
    for (unsigned id = 0; id < options.buffers; ++id)
        ring->give_back(id);
    ring->publish_returned();
    ring->receive_header.msg_namelen = sizeof(::sockaddr_in6);
    auto uring = std::unique_ptr<UringUdp>(new UringUdp(io, where, std::move(ring)));
    for (unsigned slot = uring->ring_->slots; slot > 0; --slot)
        uring->free_slots_.push_back(slot - 1);
    return uring;
}

UringUdp::UringUdp(asio::io_context& io, Unhandled where, std::unique_ptr<Ring> ring)
    : io_(io), where_(where), ring_(std::move(ring)), waiter_(io) {
    // The loop polls the ring's descriptor (a duplicate, which Asio may close): it is readable while
    // completions wait. Not deferred task work (IORING_SETUP_DEFER_TASKRUN): its arrivals wake neither a
    // poll of the ring nor, in time, a registered eventfd (14 ms per datagram, measured).
    std::error_code ec;
    const int fd = ::dup(ring_->ring.ring_fd);
    if (fd < 0) return;
    waiter_.assign(fd, ec);
    if (ec) ::close(fd);
}

UringUdp::~UringUdp() {
    std::error_code ignored;
    waiter_.close(ignored);
    ring_.reset();  // io_uring_queue_exit cancels what is in flight before the receivers go
}

bool UringUdp::add(int fd, std::uint64_t tag) {
    if (!waiter_.is_open() || watching_.count(tag) != 0) return false;
    auto receiver = std::make_unique<Receiver>();
    receiver->fd = fd;
    receiver->tag = tag;
    // A registered slot spares the kernel a descriptor lookup and reference per receive and send; without
    // a free one (the table is as large as RLIMIT_NOFILE allows) the socket is used by its descriptor.
    if (!free_slots_.empty()) {
        const unsigned slot = free_slots_.back();
        if (::io_uring_register_files_update(&ring_->ring, slot, &fd, 1) == 1) {
            free_slots_.pop_back();
            receiver->slot = static_cast<int>(slot);
        }
    }
    arm(*receiver);
    if (!receiver->armed) {
        release_slot(*receiver);
        return false;
    }
    ::io_uring_submit(&ring_->ring);
    watching_.emplace(tag, std::move(receiver));
    if (!running_) {
        running_ = true;
        asio::co_spawn(io_, loop(), log_unhandled(where_));
    }
    return true;
}

void UringUdp::release_slot(Receiver& receiver) noexcept {
    if (receiver.slot < 0) return;
    const int none = -1;
    ::io_uring_register_files_update(&ring_->ring, static_cast<unsigned>(receiver.slot), &none, 1);
    free_slots_.push_back(static_cast<unsigned>(receiver.slot));
    receiver.slot = -1;
}

void UringUdp::remove(std::uint64_t tag) noexcept {
    const auto it = watching_.find(tag);
    if (it == watching_.end()) return;
    std::unique_ptr<Receiver> receiver = std::move(it->second);
    watching_.erase(it);
    receiver->removed = true;
    if (!to_arm_.empty())
        to_arm_.erase(std::remove(to_arm_.begin(), to_arm_.end(), receiver.get()), to_arm_.end());
    if (receiver->armed) {
        // The kernel holds a reference to the socket while the receive is armed, and while its slot is
        // registered: cancel, then clear the slot, so the caller's close() really closes and the port can
        // be bound again. The cancellation runs within the submission.
        if (::io_uring_sqe* sqe = ring_->sqe(); sqe != nullptr) {
            ::io_uring_prep_cancel(sqe, receiver.get(), 0);
            ::io_uring_sqe_set_data64(sqe, 0);
        }
        ::io_uring_submit(&ring_->ring);
        release_slot(*receiver);
        Receiver* key = receiver.get();
        ending_.emplace(key, std::move(receiver));  // freed when its receive's last completion comes
    } else {
        ::io_uring_submit(&ring_->ring);  // sends queued for it go out before its slot is cleared
        release_slot(*receiver);
    }
    if (watching_.empty()) {
        std::error_code ignored;
        waiter_.cancel(ignored);  // the loop wakes, sees nothing watched and ends
    }
}

void UringUdp::arm(Receiver& receiver) {
    ::io_uring_sqe* sqe = ring_->sqe();
    if (sqe == nullptr) return;
    if (receiver.slot >= 0) {
        ::io_uring_prep_recvmsg_multishot(sqe, receiver.slot, &ring_->receive_header, 0);
        sqe->flags |= IOSQE_FIXED_FILE;
    } else {
        ::io_uring_prep_recvmsg_multishot(sqe, receiver.fd, &ring_->receive_header, 0);
    }
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = k_buffer_group;
    ::io_uring_sqe_set_data(sqe, &receiver);
    receiver.armed = true;
}

void UringUdp::forward(std::uint64_t out_tag, const ::sockaddr* destination, ::socklen_t destination_length) {
    if (handled_buffer_ < 0 || destination_length > sizeof(::sockaddr_storage)) return;
    const auto out = watching_.find(out_tag);
    if (out == watching_.end()) return;
    const Receiver& socket = *out->second;
    const auto id = static_cast<unsigned>(handled_buffer_);
    ::io_uring_sqe* sqe = ring_->sqe();
    if (sqe == nullptr) {
        ++counters_.send_failures;
        return;
    }
    Ring::Send& send = ring_->sends[id];
    std::memcpy(&send.destination, destination, destination_length);
    // A send with a destination (sendto; Linux 6.0): no message header for the kernel to copy in and
    // check. MSG_DONTWAIT: a full socket buffer fails the send at once instead of parking it in the kernel.
    ::io_uring_prep_send(sqe, socket.slot >= 0 ? socket.slot : socket.fd, handled_payload_.data(),
                         handled_payload_.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    sqe->addr2 = reinterpret_cast<std::uint64_t>(&send.destination);
    sqe->addr_len = static_cast<std::uint16_t>(destination_length);
    if (socket.slot >= 0) sqe->flags |= IOSQE_FIXED_FILE;
    ::io_uring_sqe_set_data64(sqe, (std::uint64_t{id} << 1) | k_send_bit);
    handled_buffer_ = -1;  // the send gives the buffer back when it completes
}

void UringUdp::on_receive(Receiver& receiver, int result, unsigned flags) {
    const bool more = (flags & IORING_CQE_F_MORE) != 0;
    if ((flags & IORING_CQE_F_BUFFER) != 0) {
        const unsigned id = flags >> IORING_CQE_BUFFER_SHIFT;
        if (ring_->free_buffers > 0) --ring_->free_buffers;
        auto* out = ::io_uring_recvmsg_validate(ring_->buffer(id), result, &ring_->receive_header);
        if (receiver.removed || out == nullptr || handler_ == nullptr) {
            ring_->give_back(id);
        } else {
            ++counters_.received;
            UringDatagram datagram;
            datagram.tag = receiver.tag;
            datagram.source = static_cast<const ::sockaddr*>(::io_uring_recvmsg_name(out));
            datagram.source_length = std::min<::socklen_t>(out->namelen, ring_->receive_header.msg_namelen);
            const auto length = ::io_uring_recvmsg_payload_length(out, result, &ring_->receive_header);
            datagram.payload = Bytes(
                static_cast<const std::uint8_t*>(::io_uring_recvmsg_payload(out, &ring_->receive_header)),
                length);
            datagram.truncated = (out->flags & MSG_TRUNC) != 0;
            datagram.found_at = serving_since_;
            handled_buffer_ = static_cast<int>(id);
            handled_payload_ = datagram.payload;
            handler_(datagram);
            if (handled_buffer_ >= 0) ring_->give_back(id);  // not forwarded
            handled_buffer_ = -1;
        }
    }
    if (more) return;
    // The receive has ended: cancelled by remove(), out of buffers (-ENOBUFS), or an error on the socket.
    receiver.armed = false;
    if (receiver.removed) {
        ending_.erase(&receiver);
        return;
    }
    if (result == -ENOBUFS) ++counters_.buffer_shortages;
    to_arm_.push_back(&receiver);
}

bool UringUdp::serve() {
    ::io_uring& ring = ring_->ring;
    serving_since_ = std::chrono::steady_clock::now();
    unsigned seen = 0;
    ::io_uring_cqe* cqe = nullptr;
    // One completion at a time: the handler may submit (a full queue), which may add completions.
    while (::io_uring_peek_cqe(&ring, &cqe) == 0) {
        const std::uint64_t data = ::io_uring_cqe_get_data64(cqe);
        void* const receiver = ::io_uring_cqe_get_data(cqe);  // the same bits, when it is a receive's
        const int result = cqe->res;
        const unsigned flags = cqe->flags;
        ::io_uring_cqe_seen(&ring, cqe);
        ++seen;
        if (data == 0) continue;  // a cancellation's own completion
        if ((data & k_send_bit) != 0) {
            if (result < 0) {
                ++counters_.send_failures;
            } else {
                ++counters_.sent;
            }
            ring_->give_back(static_cast<unsigned>(data >> 1));
            continue;
        }
        on_receive(*static_cast<Receiver*>(receiver), result, flags);
    }
    ring_->publish_returned();
    // Receives stopped for want of buffers start again once half the buffers are back (not one at a time:
    // each would take one datagram and stop again).
    if (!to_arm_.empty() && ring_->free_buffers >= ring_->buffer_count / 2) {
        for (Receiver* receiver : to_arm_)
            arm(*receiver);
        to_arm_.clear();
    }
    if (::io_uring_sq_ready(&ring) > 0) ::io_uring_submit(&ring);
    return seen > 0;
}

asio::awaitable<void> UringUdp::loop() {
    while (!watching_.empty() && waiter_.is_open()) {
        std::error_code ec;
        co_await waiter_.async_wait(asio::posix::stream_descriptor::wait_read,
                                    asio::redirect_error(asio::use_awaitable, ec));
        if (ec == asio::error::operation_aborted) continue;  // the last socket went, or close()
        if (ec) {
            spdlog::error("{}: io_uring wait failed: {}", to_string(where_), ec.message());
            break;
        }
        for (int round = 0; round < k_rounds && serve(); ++round) {
        }
    }
    running_ = false;
}

}  // namespace sg::net
