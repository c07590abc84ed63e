#include "net/relay.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <csignal>

#include <asio/co_spawn.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <future>
#include <list>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "net/clock.hpp"
#include "net/splice_pipe.hpp"

namespace sg::net {
namespace {

using asio::ip::tcp;
using RealClock = std::chrono::steady_clock;  // the test's own waits; the relay reads net::Clock
using namespace std::chrono_literals;

// ---------------------------------------------------------------------------------------------------------
// The test's own ends of the connections are plain blocking descriptors, driven from threads, so that the
// relay's io_context runs nothing but the relay.

class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() { reset(); }
    Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    Fd& operator=(Fd&& o) noexcept {
        reset();
        fd_ = std::exchange(o.fd_, -1);
        return *this;
    }
    int get() const { return fd_; }
    void reset() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

private:
    int fd_ = -1;
};

bool send_all(int fd, const std::uint8_t* data, std::size_t size) {
    while (size > 0) {
        const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

bool send_text(int fd, std::string_view text) {
    return send_all(fd, reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
}

// Reads up to `limit` bytes or to EOF; the bytes read.
std::string recv_text(int fd, std::size_t limit = 1 << 20) {
    std::string out;
    char chunk[4096];
    while (out.size() < limit) {
        const ssize_t n = ::recv(fd, chunk, std::min(sizeof chunk, limit - out.size()), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        out.append(chunk, static_cast<std::size_t>(n));
    }
    return out;
}

// Makes the next close() send a RST instead of a FIN.
void close_with_reset(Fd& fd) {
    const linger lg{1, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    fd.reset();
}

std::size_t open_descriptors() {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd"))
        ++n;
    return n;
}

// Deterministic test data (any chunking yields the same stream) and an order-sensitive checksum (FNV-1a).
class Pattern {
public:
    explicit Pattern(std::uint64_t seed) : state_(seed) {}
    void fill(std::uint8_t* out, std::size_t n) {  // n a multiple of 8
        for (std::size_t i = 0; i < n; i += 8) {
            std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
            z ^= z >> 31;
            std::memcpy(out + i, &z, 8);
        }
    }

private:
    std::uint64_t state_;
};

struct Checksum {
    std::uint64_t hash = 0xcbf29ce484222325ULL;
    std::uint64_t bytes = 0;
    void add(const std::uint8_t* p, std::size_t n) {
        for (std::size_t i = 0; i < n; ++i)
            hash = (hash ^ p[i]) * 0x100000001b3ULL;
        bytes += n;
    }
    bool operator==(const Checksum&) const = default;
};

// Sends `size` bytes of Pattern(seed), then half-closes unless told not to. `sent` counts as it goes.
Checksum send_pattern(int fd, std::uint64_t seed, std::size_t size, std::atomic<std::size_t>* sent = nullptr,
                      bool half_close = true) {
    Pattern pattern(seed);
    Checksum sum;
    std::vector<std::uint8_t> chunk(64 * 1024);
    std::size_t left = size;
    while (left > 0) {
        const std::size_t n = std::min(left, chunk.size());
        pattern.fill(chunk.data(), chunk.size());
        if (!send_all(fd, chunk.data(), n)) break;
        sum.add(chunk.data(), n);
        left -= n;
        if (sent != nullptr) sent->fetch_add(n);
    }
    if (half_close) ::shutdown(fd, SHUT_WR);
    return sum;
}

// Reads to EOF (or `limit` bytes) and checksums what arrived.
Checksum receive_all(int fd, std::size_t limit = SIZE_MAX) {
    Checksum sum;
    std::vector<std::uint8_t> chunk(64 * 1024);
    while (sum.bytes < limit) {
        const ssize_t n = ::recv(fd, chunk.data(), std::min(chunk.size(), limit - sum.bytes), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        sum.add(chunk.data(), static_cast<std::size_t>(n));
    }
    return sum;
}

// ---------------------------------------------------------------------------------------------------------
// A relayed connection: client `a` <-> gw_a [relay] gw_b <-> `b` target, all on loopback.

struct Link {
    explicit Link(asio::io_context& io) : gw_a(io), gw_b(io) {}
    tcp::socket gw_a;
    tcp::socket gw_b;
    Fd a;
    Fd b;
    std::promise<RelayResult> done;
    std::future<RelayResult> result = done.get_future();
    Clock::time_point ended;
};

class Rig {
public:
    // `socket_buffer`: SO_SNDBUF/SO_RCVBUF on every socket along the way (0: the kernel's autotuning).
    explicit Rig(int socket_buffer = 0) : socket_buffer_(socket_buffer) {}
    ~Rig() {
        guard_.reset();
        io_.stop();
        if (thread_.joinable()) thread_.join();
    }
    Rig(const Rig&) = delete;
    Rig& operator=(const Rig&) = delete;

    asio::io_context& io() { return io_; }

    Link& connect() {
        Link& link = links_.emplace_back(io_);
        tcp::acceptor client_side(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        tcp::acceptor target_side(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        if (socket_buffer_ > 0) {
            client_side.set_option(asio::socket_base::receive_buffer_size(socket_buffer_));
            target_side.set_option(asio::socket_base::receive_buffer_size(socket_buffer_));
        }
        tcp::socket a(io_);
        a.open(tcp::v4());
        tcp::socket b(io_);
        if (socket_buffer_ > 0) {
            a.set_option(asio::socket_base::send_buffer_size(socket_buffer_));
            link.gw_b.open(tcp::v4());
            link.gw_b.set_option(asio::socket_base::send_buffer_size(socket_buffer_));
        }
        a.connect(client_side.local_endpoint());
        client_side.accept(link.gw_a);
        link.gw_b.connect(target_side.local_endpoint());
        target_side.accept(b);
        link.a = Fd(a.release());
        link.b = Fd(b.release());
        return link;
    }

    void start(Link& link, Clock::duration idle_timeout, RelayOptions options) {
        spawn(link, relay(link.gw_a, link.gw_b, idle_timeout, options));
    }

    // Runs `task` (a relay, or a coroutine around one) and reports its result through `link`.
    void spawn(Link& link, asio::awaitable<RelayResult> task) {
        asio::co_spawn(io_, std::move(task), [&link](std::exception_ptr error, RelayResult result) {
            link.ended = Clock::now();
            if (error) {
                link.done.set_exception(error);
            } else {
                link.done.set_value(result);
            }
        });
        if (!thread_.joinable()) thread_ = std::thread([this] { io_.run(); });
    }

    // Runs `f` on the io_context's thread and returns its result.
    template <class F>
    auto on_io(F f) {
        std::promise<decltype(f())> promise;
        asio::post(io_, [&] { promise.set_value(f()); });
        return promise.get_future().get();
    }

    // Returns once the io_context's thread has run everything that was ready: twice round, since a write
    // that completed on that thread may queue its completion after our first visit was queued.
    void sync() {
        on_io([] { return 0; });
        on_io([] { return 0; });
    }

private:
    int socket_buffer_;
    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> guard_ = asio::make_work_guard(io_);
    std::list<Link> links_;
    std::thread thread_;
};

// Waits for the relay to end; nullopt when it is still running after `limit`.
std::optional<RelayResult> wait_end(Link& link, Clock::duration limit) {
    if (link.result.wait_for(limit) != std::future_status::ready) return std::nullopt;
    return link.result.get();
}

// ---------------------------------------------------------------------------------------------------------
// Every behaviour is checked with splice and with the forced buffered copy.

enum class Mode { splice, buffered };

RelayOptions options_for(Mode mode) {
    RelayOptions options;
    options.splice = mode == Mode::splice;
    return options;
}

class RelayTest : public ::testing::TestWithParam<Mode> {
protected:
    RelayOptions options() const { return options_for(GetParam()); }
    bool splicing() const { return GetParam() == Mode::splice; }

    // The relay's idle timeouts run on manual time: the tests move the clock, so a loaded machine cannot
    // stretch a gap between two bytes into a timeout, and the ends are checked to the nanosecond.
    ManualTime time_;
};

constexpr std::size_t k_big = std::size_t{64} << 20;

TEST_P(RelayTest, Moves64MiBEachWayAtOnceIntact) {
    Rig rig;
    Link& link = rig.connect();
    rig.start(link, 30s, options());

    auto up_sent = std::async(std::launch::async, [&] { return send_pattern(link.a.get(), 1, k_big); });
    auto down_sent = std::async(std::launch::async, [&] { return send_pattern(link.b.get(), 2, k_big); });
    auto up_received = std::async(std::launch::async, [&] { return receive_all(link.b.get()); });
    auto down_received = std::async(std::launch::async, [&] { return receive_all(link.a.get()); });

    const Checksum up = up_sent.get();
    const Checksum down = down_sent.get();
    EXPECT_EQ(up.bytes, k_big);
    EXPECT_EQ(down.bytes, k_big);
    EXPECT_TRUE(up_received.get() == up) << "client -> target stream differs";
    EXPECT_TRUE(down_received.get() == down) << "target -> client stream differs";

    const auto result = wait_end(link, 10s);
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(result->bytes_a_to_b, k_big);
    EXPECT_EQ(result->bytes_b_to_a, k_big);
    EXPECT_EQ(result->bytes_spliced, splicing() ? 2 * k_big : 0);
    EXPECT_EQ(result->end_reason, "closed");
}

// One side sends its request and half-closes; the other direction must keep working until the other side is
// done too. Both orders.
TEST_P(RelayTest, HalfCloseFromEitherSideKeepsTheOtherDirection) {
    for (const bool client_first : {true, false}) {
        SCOPED_TRACE(client_first ? "client half-closes first" : "target half-closes first");
        Rig rig;
        Link& link = rig.connect();
        rig.start(link, 30s, options());
        Fd& first = client_first ? link.a : link.b;
        Fd& second = client_first ? link.b : link.a;

        ASSERT_TRUE(send_text(first.get(), "request"));
        ::shutdown(first.get(), SHUT_WR);
        EXPECT_EQ(recv_text(second.get()), "request");  // to EOF: the half-close was passed on

        // The reverse direction still runs, several writes after the half-close.
        for (int i = 0; i < 3; ++i)
            ASSERT_TRUE(send_text(second.get(), "part" + std::to_string(i) + ";"));
        ::shutdown(second.get(), SHUT_WR);
        EXPECT_EQ(recv_text(first.get()), "part0;part1;part2;");

        const auto result = wait_end(link, 5s);
        ASSERT_TRUE(result.has_value());
        EXPECT_EQ(result->end_reason, "closed");
        EXPECT_EQ(client_first ? result->bytes_a_to_b : result->bytes_b_to_a, 7u);
        EXPECT_EQ(client_first ? result->bytes_b_to_a : result->bytes_a_to_b, 18u);
        EXPECT_EQ(result->bytes_spliced, splicing() ? 25u : 0u);
        EXPECT_FALSE(link.gw_a.non_blocking()) << "the sockets' blocking mode was not restored";
        EXPECT_FALSE(link.gw_b.non_blocking());
    }
}

TEST_P(RelayTest, ResetOnEitherSideEndsTheRelayPromptly) {
    for (const bool client_resets : {true, false}) {
        SCOPED_TRACE(client_resets ? "client resets" : "target resets");
        Rig rig;
        Link& link = rig.connect();
        rig.start(link, 30s, options());
        ASSERT_TRUE(send_text(link.a.get(), "ping"));
        EXPECT_EQ(recv_text(link.b.get(), 4), "ping");

        const auto reset_at = Clock::now();
        close_with_reset(client_resets ? link.a : link.b);
        const auto result = wait_end(link, 5s);
        ASSERT_TRUE(result.has_value()) << "relay still running after a reset";
        EXPECT_EQ(link.ended, reset_at) << "no time passed: the reset ended it, not a timer";
        EXPECT_EQ(result->end_reason, "reset");
        EXPECT_EQ(result->bytes_a_to_b, 4u);
    }
}

// The client half-closes after its request, then the target resets instead of answering: the log must tell
// the clean half-close from the reset that ended the relay.
TEST_P(RelayTest, ResetAfterAHalfCloseIsNamedSo) {
    Rig rig;
    Link& link = rig.connect();
    rig.start(link, 30s, options());
    ASSERT_TRUE(send_text(link.a.get(), "request"));
    ::shutdown(link.a.get(), SHUT_WR);
    EXPECT_EQ(recv_text(link.b.get()), "request");
    close_with_reset(link.b);
    const auto result = wait_end(link, 5s);
    ASSERT_TRUE(result.has_value()) << "relay still running after a reset";
    EXPECT_EQ(result->end_reason, "reset after half-close");
}

// The target resets while the client is pushing a bulk transfer: the write side fails (EPIPE/ECONNRESET,
// never SIGPIPE) and the relay ends at once instead of waiting for the sender.
TEST_P(RelayTest, ResetDuringBulkTransferEndsTheRelay) {
    Rig rig;
    Link& link = rig.connect();
    rig.start(link, 30s, options());
    auto sender = std::async(std::launch::async, [&] { return send_pattern(link.a.get(), 3, k_big); });
    EXPECT_EQ(receive_all(link.b.get(), 1 << 20).bytes, std::size_t{1} << 20);

    const auto reset_at = Clock::now();
    close_with_reset(link.b);
    const auto result = wait_end(link, 5s);
    ASSERT_TRUE(result.has_value()) << "relay still running after a reset";
    EXPECT_EQ(link.ended, reset_at) << "no time passed: the reset ended it, not a timer";
    EXPECT_EQ(result->end_reason, "reset");
    EXPECT_GE(result->bytes_a_to_b, std::size_t{1} << 20);
    EXPECT_LT(result->bytes_a_to_b, k_big);
    link.gw_a.close();  // the relay is over; this unblocks the sender
    sender.wait();
}

// The caller gives up on the relay (here: races it against a timer): it must end at once, and only after both
// directions have finished with its state (ASan would see a use after free otherwise).
asio::awaitable<RelayResult> relay_until(tcp::socket& a, tcp::socket& b, RelayOptions options,
                                         Clock::duration give_up_after) {
    using namespace asio::experimental::awaitable_operators;
    Timer timer(co_await asio::this_coro::executor, give_up_after);
    auto winner = co_await (relay(a, b, 30s, options) || timer.async_wait(asio::use_awaitable));
    RelayResult result;
    result.end_reason = winner.index() == 0 ? "relay ended first" : "caller gave up";
    co_return result;
}

TEST_P(RelayTest, CallerCancellationEndsTheRelay) {
    Rig rig;
    Link& link = rig.connect();
    const auto started = Clock::now();
    rig.spawn(link, relay_until(link.gw_a, link.gw_b, options(), 100ms));
    ASSERT_TRUE(send_text(link.a.get(), "x"));
    EXPECT_EQ(recv_text(link.b.get(), 1), "x");
    rig.sync();
    EXPECT_EQ(link.result.wait_for(50ms), std::future_status::timeout) << "ended before the caller gave up";
    time_.advance(100ms);
    const auto result = wait_end(link, 5s);
    ASSERT_TRUE(result.has_value()) << "the relay ignored its cancellation";
    EXPECT_EQ(result->end_reason, "caller gave up");
    EXPECT_EQ(link.ended - started, 100ms);
}

// duration::max() means no idle timeout; the deadline arithmetic must not overflow (UBSan checks).
TEST_P(RelayTest, MaxIdleTimeoutMeansNever) {
    Rig rig;
    Link& link = rig.connect();
    rig.start(link, Clock::duration::max(), options());
    ASSERT_TRUE(send_text(link.a.get(), "x"));
    EXPECT_EQ(recv_text(link.b.get(), 1), "x");
    rig.sync();
    time_.advance(24h * 365 * 100);
    EXPECT_EQ(link.result.wait_for(200ms), std::future_status::timeout);
    ::shutdown(link.a.get(), SHUT_WR);
    ::shutdown(link.b.get(), SHUT_WR);
    const auto result = wait_end(link, 5s);
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(result->end_reason, "closed");
}

TEST_P(RelayTest, IdleTimeoutFires) {
    Rig rig;
    Link& link = rig.connect();
    const auto started = Clock::now();
    rig.start(link, 200ms, options());
    rig.sync();
    time_.advance(199ms);
    EXPECT_EQ(link.result.wait_for(50ms), std::future_status::timeout) << "ended before its idle timeout";
    time_.advance(1ms);
    const auto result = wait_end(link, 5s);
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(result->end_reason, "idle timeout");
    EXPECT_EQ(link.ended - started, 200ms);
}

TEST_P(RelayTest, TrafficPostponesTheIdleTimeout) {
    Rig rig;
    Link& link = rig.connect();
    const auto started = Clock::now();
    rig.start(link, 300ms, options());
    rig.sync();
    for (int i = 0; i < 10; ++i) {  // a byte every 100 ms for a second, alternately each way
        time_.advance(100ms);
        Fd& from = i % 2 == 0 ? link.a : link.b;
        Fd& to = i % 2 == 0 ? link.b : link.a;
        ASSERT_TRUE(send_text(from.get(), "x"));
        ASSERT_EQ(recv_text(to.get(), 1), "x");
        rig.sync();
    }
    time_.advance(299ms);  // a second of traffic, then silence just short of the timeout
    EXPECT_EQ(link.result.wait_for(50ms), std::future_status::timeout) << "timed out despite traffic";
    time_.advance(1ms);
    const auto result = wait_end(link, 5s);
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(result->end_reason, "idle timeout");
    EXPECT_EQ(link.ended - started, 1s + 300ms);
    EXPECT_EQ(result->bytes_a_to_b + result->bytes_b_to_a, 10u);
}

// A target that does not read: the client's writes must stall once the kernel buffers and the relay's one
// pipe (or buffer) are full, instead of the relay reading everything into memory. Then the target reads and
// everything arrives intact.
TEST_P(RelayTest, SlowReaderStallsTheSender) {
    Rig rig(64 * 1024);
    Link& link = rig.connect();
    rig.start(link, 30s, options());
    std::atomic<std::size_t> sent{0};
    auto sender = std::async(std::launch::async, [&] { return send_pattern(link.a.get(), 4, k_big, &sent); });

    // Wait until the sender has stalled: nothing more accepted for 300 ms.
    std::size_t stalled_at = 0;
    for (auto deadline = RealClock::now() + 10s; RealClock::now() < deadline;) {
        const std::size_t before = sent.load();
        std::this_thread::sleep_for(300ms);
        if (sent.load() == before && before > 0) {
            stalled_at = before;
            break;
        }
    }
    ASSERT_GT(stalled_at, 0u) << "the sender never stalled (" << sent.load() << " bytes accepted)";
    // The socket buffers along the way plus the relay's 256 KiB pipe or 16 KiB buffer: measured 704 KiB
    // (splice) and 448 KiB (copy). An unbounded relay would take the whole 64 MiB.
    EXPECT_LT(stalled_at, std::size_t{2} << 20);

    const Checksum received = receive_all(link.b.get());
    EXPECT_TRUE(received == sender.get());
    EXPECT_EQ(received.bytes, k_big);
    ::shutdown(link.b.get(), SHUT_WR);
    const auto result = wait_end(link, 5s);
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(result->end_reason, "closed");
}

// A bulk transfer must not starve the other relays of the same io_context: splice(2) never suspends by
// itself, so a busy direction yields now and then.
TEST_P(RelayTest, BulkTransferDoesNotStarveOtherRelays) {
    Rig rig;
    Link& bulk = rig.connect();
    Link& chat = rig.connect();
    rig.start(bulk, 30s, options());
    rig.start(chat, 30s, options());
    auto sender = std::async(std::launch::async, [&] { return send_pattern(bulk.a.get(), 7, k_big); });
    auto receiver = std::async(std::launch::async, [&] { return receive_all(bulk.b.get()); });
    std::this_thread::sleep_for(50ms);  // the bulk transfer is under way
    RealClock::duration worst{};
    for (int i = 0; i < 20; ++i) {
        const auto sent_at = RealClock::now();
        ASSERT_TRUE(send_text(chat.a.get(), "?"));
        ASSERT_EQ(recv_text(chat.b.get(), 1), "?");
        worst = std::max(worst, RealClock::now() - sent_at);
    }
    EXPECT_LT(worst, 200ms) << "a bulk transfer held up another relay";
    EXPECT_TRUE(receiver.get() == sender.get());
}

// Bytes (and the EOF) that arrived before the relay started, with their readiness event already consumed by
// the reactor, must still be forwarded: the relay looks before it waits.
TEST_P(RelayTest, ForwardsBytesQueuedBeforeTheRelayStarts) {
    Rig rig;
    Link& link = rig.connect();
    ASSERT_TRUE(send_text(link.a.get(), "early"));
    ::shutdown(link.a.get(), SHUT_WR);
    asio::steady_timer settle(rig.io(), 100ms);  // the reactor runs meanwhile and sees gw_a become readable
    settle.async_wait([](asio::error_code) {});
    rig.io().run_one();

    rig.start(link, 3s, options());
    EXPECT_EQ(recv_text(link.b.get()), "early");
    ::shutdown(link.b.get(), SHUT_WR);
    const auto result = wait_end(link, 5s);
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(result->end_reason, "closed");
}

INSTANTIATE_TEST_SUITE_P(Modes, RelayTest, ::testing::Values(Mode::splice, Mode::buffered),
                         [](const ::testing::TestParamInfo<Mode>& param) {
                             return param.param == Mode::splice ? "Splice" : "Buffered";
                         });

// ---------------------------------------------------------------------------------------------------------
// Pipes: taken only while data flows, reused, and not required.

// Idle connections hold no pipe: after traffic on many relays, the only pipes left open are the pool's.
TEST(RelaySplice, IdleRelaysHoldNoPipe) {
    constexpr int k_links = 24;
    Rig rig;
    std::vector<Link*> links;
    for (int i = 0; i < k_links; ++i)
        links.push_back(&rig.connect());
    const std::size_t baseline = open_descriptors();
    for (Link* link : links)
        rig.start(*link, 30s, RelayOptions{});
    for (Link* link : links) {
        ASSERT_TRUE(send_text(link->a.get(), "hello"));
        ASSERT_TRUE(send_text(link->b.get(), "world"));
        EXPECT_EQ(recv_text(link->b.get(), 5), "hello");
        EXPECT_EQ(recv_text(link->a.get(), 5), "world");
    }
    std::this_thread::sleep_for(50ms);
    const std::size_t pooled = rig.on_io([&] { return asio::use_service<PipePool>(rig.io()).idle(); });
    EXPECT_GE(pooled, 1u);
    EXPECT_LE(pooled, PipePool::k_max_idle);
    // Two descriptors per pooled pipe and nothing else (+1 for the directory listing itself); pipes held by
    // connections would add 4 per link.
    EXPECT_EQ(open_descriptors(), baseline + 2 * pooled);
    for (Link* link : links) {
        ::shutdown(link->a.get(), SHUT_WR);
        ::shutdown(link->b.get(), SHUT_WR);
        const auto result = wait_end(*link, 5s);
        ASSERT_TRUE(result.has_value());
        EXPECT_EQ(result->bytes_spliced, 10u);
    }
}

// With no descriptors left for pipes the relay copies through its buffer, and splices again once it can.
TEST(RelaySplice, FallsBackToCopyingWhenNoPipeCanBeOpened) {
    Rig rig;
    Link& link = rig.connect();

    rlimit original{};
    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &original), 0);
    rlimit tight = original;
    tight.rlim_cur = 256;  // keep the dup() loop below cheap
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &tight), 0);
    std::vector<int> hogs;
    for (int fd = dup(0); fd >= 0; fd = dup(0))
        hogs.push_back(fd);
    const auto release_hogs = [&] {
        for (const int fd : hogs)
            close(fd);
        hogs.clear();
        setrlimit(RLIMIT_NOFILE, &original);
    };

    rig.start(link, 30s, RelayOptions{});
    constexpr std::size_t k_part = std::size_t{1} << 20;
    auto first =
        std::async(std::launch::async, [&] { return send_pattern(link.a.get(), 5, k_part, nullptr, false); });
    const Checksum first_received = receive_all(link.b.get(), k_part);
    const Checksum first_sent = first.get();
    std::this_thread::sleep_for(100ms);  // let the relay see the source drained, ending the copied burst
    release_hogs();
    EXPECT_TRUE(first_received == first_sent);

    auto second = std::async(std::launch::async, [&] { return send_pattern(link.a.get(), 6, k_part); });
    const Checksum second_received = receive_all(link.b.get());
    EXPECT_TRUE(second_received == second.get());
    ::shutdown(link.b.get(), SHUT_WR);
    const auto result = wait_end(link, 5s);
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(result->end_reason, "closed");
    EXPECT_EQ(result->bytes_a_to_b, 2 * k_part);
    EXPECT_EQ(result->bytes_spliced, k_part) << "first part copied, second part spliced";
}

TEST(PipePool, ReusesEmptyPipesUpToItsLimit) {
    asio::io_context io;
    PipePool& pool = asio::use_service<PipePool>(io);
    int error = -1;
    Pipe pipe = pool.acquire(256 * 1024, error);
    ASSERT_TRUE(pipe.valid()) << std::strerror(error);
    EXPECT_EQ(error, 0);
    EXPECT_EQ(pipe.capacity(), 256u * 1024);
    EXPECT_EQ(fcntl(pipe.read_fd(), F_GETFL) & O_NONBLOCK, O_NONBLOCK);
    EXPECT_EQ(fcntl(pipe.read_fd(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    const int read_fd = pipe.read_fd();
    pool.release(std::move(pipe));
    EXPECT_EQ(pool.idle(), 1u);

    Pipe other_size = pool.acquire(64 * 1024, error);  // a different size is a new pipe
    EXPECT_NE(other_size.read_fd(), read_fd);
    Pipe again = pool.acquire(256 * 1024, error);
    EXPECT_EQ(again.read_fd(), read_fd);
    EXPECT_EQ(pool.idle(), 0u);

    const std::size_t before = open_descriptors();
    std::vector<Pipe> many;
    for (std::size_t i = 0; i < PipePool::k_max_idle + 4; ++i)
        many.push_back(pool.acquire(64 * 1024, error));
    for (Pipe& p : many)
        pool.release(std::move(p));
    EXPECT_EQ(pool.idle(), PipePool::k_max_idle);
    EXPECT_EQ(open_descriptors(), before + 2 * PipePool::k_max_idle);
    pool.clear();
    EXPECT_EQ(open_descriptors(), before);
}

TEST(PipePool, OpenReportsTheErrorWhenDescriptorsRunOut) {
    rlimit original{};
    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &original), 0);
    rlimit tight = original;
    tight.rlim_cur = 256;
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &tight), 0);
    std::vector<int> hogs;
    for (int fd = dup(0); fd >= 0; fd = dup(0))
        hogs.push_back(fd);
    int error = 0;
    const Pipe pipe = Pipe::open(64 * 1024, error);
    for (const int fd : hogs)
        close(fd);
    setrlimit(RLIMIT_NOFILE, &original);
    EXPECT_FALSE(pipe.valid());
    EXPECT_EQ(error, EMFILE);
}

TEST(RelayOptions, EnvironmentCanTurnSpliceOff) {
    const struct {
        const char* value;
        bool splice;
    } cases[] = {{nullptr, true}, {"1", true},   {"on", true},      {"0", false},
                 {"off", false},  {"No", false}, {" false ", false}};
    for (const auto& c : cases) {
        if (c.value == nullptr) {
            unsetenv("SG_RELAY_SPLICE");
        } else {
            setenv("SG_RELAY_SPLICE", c.value, 1);
        }
        EXPECT_EQ(default_relay_options().splice, c.splice) << (c.value ? c.value : "(unset)");
    }
    unsetenv("SG_RELAY_SPLICE");
}

// splice(2) cannot suppress SIGPIPE per call: after a relay has run, a write into a reset socket must come
// back as EPIPE, never kill the process.
TEST(RelaySignals, RelayLeavesSigpipeIgnored) {
    struct sigaction restore {};
    sigaction(SIGPIPE, nullptr, &restore);
    struct sigaction dflt {};
    dflt.sa_handler = SIG_DFL;
    sigaction(SIGPIPE, &dflt, nullptr);

    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    tcp::socket a(io);
    a.connect(acceptor.local_endpoint());
    tcp::socket a_peer = acceptor.accept();
    tcp::socket b(io);
    b.connect(acceptor.local_endpoint());
    tcp::socket b_peer = acceptor.accept();
    bool done = false;
    asio::co_spawn(io, relay(a, b, std::chrono::seconds(5)),
                   [&](std::exception_ptr, RelayResult) { done = true; });
    io.run_for(std::chrono::milliseconds(20));
    a_peer.close();
    b_peer.close();
    io.run_for(std::chrono::milliseconds(500));
    EXPECT_TRUE(done);

    struct sigaction now {};
    sigaction(SIGPIPE, nullptr, &now);
    EXPECT_EQ(now.sa_handler, SIG_IGN);
    sigaction(SIGPIPE, &restore, nullptr);
}

}  // namespace
}  // namespace sg::net
