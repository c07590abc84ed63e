#include "net/fork_join_pool.hpp"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <latch>
#include <mutex>
#include <set>
#include <thread>

namespace sg::net {
namespace {

using namespace std::chrono_literals;

TEST(ForkJoinPool, EveryPartRunsExactlyOnceWhateverTheHelpers) {
    for (const std::size_t helpers : {0U, 1U, 3U}) {
        ForkJoinPool pool(helpers);
        for (int job = 0; job < 50; ++job) {
            std::array<std::atomic<int>, 100> runs{};
            pool.run(runs.size(), [&](std::size_t part) { runs[part].fetch_add(1); });
            for (std::size_t part = 0; part < runs.size(); ++part)
                ASSERT_EQ(runs[part].load(), 1)
                    << "helpers " << helpers << ", job " << job << ", part " << part;
        }
    }
}

TEST(ForkJoinPool, HelpersTakePartsWhileTheCallerWorks) {
    ForkJoinPool pool(2);
    std::mutex mutex;
    std::condition_variable seen_two;
    std::set<std::thread::id> threads;
    // Each part waits (bounded) until two threads are working on the job: if nobody helped the first one
    // taking a part, the test fails rather than passing on the caller alone.
    pool.run(6, [&](std::size_t) {
        std::unique_lock lock(mutex);
        threads.insert(std::this_thread::get_id());
        if (threads.size() >= 2) seen_two.notify_all();
        seen_two.wait_for(lock, 5s, [&] { return threads.size() >= 2; });
    });
    EXPECT_GE(threads.size(), 2U);
    EXPECT_EQ(pool.shared_jobs(), 1U);
}

TEST(ForkJoinPool, RunReturnsOnlyOnceEveryPartHasReturned) {
    ForkJoinPool pool(3);
    std::atomic<int> finished{0};
    pool.run(4, [&](std::size_t part) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5 * (part + 1)));
        finished.fetch_add(1);
    });
    EXPECT_EQ(finished.load(), 4);
}

TEST(ForkJoinPool, ASecondCallerRunsItsJobAloneInsteadOfWaiting) {
    ForkJoinPool pool(1);
    std::latch first_started(1);
    std::latch second_done(1);
    std::thread first([&] {
        pool.run(2, [&](std::size_t part) {
            if (part != 0) return;
            first_started.count_down();
            second_done.wait();  // holds the pool until the second job is over
        });
    });
    first_started.wait();
    std::set<std::thread::id> threads;
    pool.run(3, [&](std::size_t) { threads.insert(std::this_thread::get_id()); });
    second_done.count_down();
    first.join();
    EXPECT_EQ(threads, std::set<std::thread::id>{std::this_thread::get_id()});
    EXPECT_EQ(pool.contended(), 1U);
}

}  // namespace
}  // namespace sg::net
