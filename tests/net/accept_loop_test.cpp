#include "net/accept_loop.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <vector>

namespace sg::net {
namespace {

using asio::ip::tcp;
using namespace std::chrono_literals;

// Runs the context until `done()` or the deadline; returns done().
template <class Pred>
bool run_until(asio::io_context& io, Pred done, std::chrono::milliseconds deadline) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    while (!done() && std::chrono::steady_clock::now() < end) {
        io.run_for(10ms);
        if (io.stopped()) io.restart();
    }
    return done();
}

TEST(AcceptLoop, AcceptsUntilClosed) {
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    AcceptCounters counters;
    std::vector<tcp::socket> accepted;
    bool finished = false;
    asio::co_spawn(io,
                   accept_loop(
                       acceptor, [&](tcp::socket s) { accepted.push_back(std::move(s)); }, counters),
                   [&](std::exception_ptr) { finished = true; });

    std::vector<tcp::socket> clients;
    for (int i = 0; i < 3; ++i) {
        clients.emplace_back(io);
        clients.back().connect(acceptor.local_endpoint());
    }
    ASSERT_TRUE(run_until(
        io, [&] { return accepted.size() == 3; }, 2000ms));
    EXPECT_EQ(counters.accepted.load(), 3u);

    acceptor.close();
    EXPECT_TRUE(run_until(
        io, [&] { return finished; }, 2000ms));
}

// With no descriptors left, accept() fails immediately while the connection stays queued: the loop must back
// off (a handful of attempts in 300 ms, not the hundreds of thousands a spinning loop makes) and then
// recover.
TEST(AcceptLoop, BacksOffWhenDescriptorsRunOutAndRecovers) {
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    std::vector<tcp::socket> clients;
    for (int i = 0; i < 2; ++i) {
        clients.emplace_back(io);
        clients.back().connect(acceptor.local_endpoint());
    }

    rlimit original{};
    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &original), 0);
    rlimit tight = original;
    tight.rlim_cur = 256;  // keep dup() below cheap
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &tight), 0);
    std::vector<int> hogs;
    for (int fd = dup(0); fd >= 0; fd = dup(0))
        hogs.push_back(fd);

    AcceptCounters counters;
    std::vector<tcp::socket> accepted;
    asio::co_spawn(io,
                   accept_loop(
                       acceptor, [&](tcp::socket s) { accepted.push_back(std::move(s)); }, counters),
                   asio::detached);
    run_until(
        io, [] { return false; }, 300ms);
    const auto errors = counters.resource_errors.load();
    EXPECT_GE(errors, 1u);
    EXPECT_LE(errors, 12u) << "the accept loop spins instead of backing off";
    EXPECT_TRUE(accepted.empty());

    for (const int fd : hogs)
        close(fd);
    setrlimit(RLIMIT_NOFILE, &original);
    EXPECT_TRUE(run_until(
        io, [&] { return accepted.size() == 2; }, 3000ms))
        << "did not recover";
    acceptor.close();
    io.run_for(50ms);
}

}  // namespace
}  // namespace sg::net
