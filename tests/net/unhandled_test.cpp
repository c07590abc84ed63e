#include "net/unhandled.hpp"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <stdexcept>

namespace sg::net {
namespace {

asio::awaitable<void> throws_std() {
    throw std::runtime_error("boom");
    co_return;
}

asio::awaitable<void> throws_other() {
    throw 42;  // not a std::exception: still counted
    co_return;
}

asio::awaitable<int> returns_value() {
    co_return 7;
}

TEST(LogUnhandled, CountsAndLogsAnEscapingExceptionAndTheContextKeepsRunning) {
    asio::io_context io;
    const auto before = unhandled_count(Unhandled::mount_upstream);
    asio::co_spawn(io, throws_std(), log_unhandled(Unhandled::mount_upstream));
    asio::co_spawn(io, throws_other(), log_unhandled(Unhandled::mount_upstream));
    asio::co_spawn(io, returns_value(), log_unhandled(Unhandled::mount_upstream));
    bool later_work_ran = false;
    asio::post(io, [&] { asio::post(io, [&] { later_work_ran = true; }); });
    EXPECT_NO_THROW(io.run());
    EXPECT_TRUE(later_work_ran);
    EXPECT_EQ(unhandled_count(Unhandled::mount_upstream) - before, 2u);
}

TEST(LogUnhandled, NoExceptionIsNotCounted) {
    const auto before = unhandled_count(Unhandled::serve_session);
    report_unhandled(Unhandled::serve_session, nullptr);
    EXPECT_EQ(unhandled_count(Unhandled::serve_session), before);
}

TEST(LogUnhandled, EverySiteHasALabel) {
    for (const auto where : k_unhandled_sites)
        EXPECT_NE(to_string(where), "unknown");
}

}  // namespace
}  // namespace sg::net
