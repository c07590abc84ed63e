#pragma once
// Runs blocking work (opening and probing media files) on a thread pool and resumes the calling coroutine on
// its own event loop with the result, so one slow file never stalls the loop's other sessions.

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>
#include <type_traits>
#include <utility>

namespace sg::server {

// `work` runs on `pool`; its result (default-constructible and movable, as co_spawn requires) comes back to
// the awaiting coroutine's executor. `work` must not touch anything its loop owns.
template <typename Work>
asio::awaitable<std::invoke_result_t<Work&>> run_blocking(asio::thread_pool& pool, Work work) {
    using Result = std::invoke_result_t<Work&>;
    // Named, not temporaries: g++ 12 destroys temporaries of a co_await's full-expression twice.
    auto on_pool = [work = std::move(work)]() mutable -> asio::awaitable<Result> { co_return work(); };
    auto done = asio::co_spawn(pool.get_executor(), std::move(on_pool), asio::use_awaitable);
    auto result = co_await std::move(done);
    co_return result;
}

}  // namespace sg::server
