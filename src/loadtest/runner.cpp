#include "loadtest/runner.hpp"

#include <fmt/format.h>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <csignal>
#include <memory>
#include <thread>

#include "net/use_tuple.hpp"

namespace sg::loadtest {
namespace {

using Clock = std::chrono::steady_clock;

struct RunState {
    explicit RunState(const RunConfig& run) : config(run), results(run.players) {}

    const RunConfig& config;
    LiveCounters live;
    std::vector<PlayerResult> results;
    // Touched on the main io_context's thread only (worker threads post their results there).
    std::size_t started = 0;
    std::size_t finished = 0;
    asio::steady_timer* progress_timer = nullptr;  // cancelled when the last player ends
    asio::signal_set* signals = nullptr;           // likewise
    Clock::time_point t0 = Clock::now();
};

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

void on_player_done(RunState& state, std::size_t index, PlayerResult result) {
    state.results[index] = std::move(result);
    ++state.finished;
    if (state.finished < state.config.players) return;
    if (state.progress_timer != nullptr) state.progress_timer->cancel();
    if (state.signals != nullptr) state.signals->cancel();
}

asio::awaitable<void> launch_players(RunState& state, std::vector<asio::any_io_executor> executors) {
    auto main = co_await asio::this_coro::executor;
    asio::steady_timer timer(main);
    const auto& config = state.config;
    for (std::size_t i = 0; i < config.players; ++i) {
        if (config.ramp_per_s > 0) {
            const auto offset = std::chrono::duration<double>(static_cast<double>(i) / config.ramp_per_s);
            timer.expires_at(state.t0 + std::chrono::duration_cast<Clock::duration>(offset));
            co_await timer.async_wait(net::k_use_tuple);
        }
        if (state.live.stop_requested.load(std::memory_order_relaxed)) {
            PlayerResult never;
            never.error = "interrupted before start";
            on_player_done(state, i, std::move(never));
            continue;
        }
        ++state.started;
        const auto& executor = executors[i % executors.size()];
        asio::co_spawn(executor, run_player(config.player, state.live),
                       [&state, main, i](const std::exception_ptr& error, PlayerResult result) {
                           if (error) {
                               result = PlayerResult{};
                               result.error = "internal error";
                           }
                           asio::post(main, [&state, i, moved = std::move(result)]() mutable {
                               on_player_done(state, i, std::move(moved));
                           });
                       });
    }
}

// Ctrl-C (or SIGTERM) ends the run early but cleanly: no new players, running ones TEARDOWN within a few
// seconds, and the summary still gets printed.
asio::awaitable<void> handle_signals(RunState& state, std::FILE* out) {
    asio::signal_set signals(co_await asio::this_coro::executor, SIGINT, SIGTERM);
    state.signals = &signals;
    while (state.finished < state.config.players) {
        auto [ec, signal] = co_await signals.async_wait(net::k_use_tuple);
        if (ec) break;
        state.live.stop_requested.store(true, std::memory_order_relaxed);
        if (out != nullptr) fmt::print(out, "testplayer: signal {}: stopping the players\n", signal);
    }
    state.signals = nullptr;
}

void print_progress(RunState& state, std::FILE* out, std::uint64_t& last_bytes,
                    Clock::time_point& last_time) {
    const auto now = Clock::now();
    const auto bytes = state.live.rtp_bytes.load(std::memory_order_relaxed);
    const double interval = std::chrono::duration<double>(now - last_time).count();
    const double mbps = interval > 0 ? static_cast<double>(bytes - last_bytes) * 8 / interval / 1e6 : 0;
    last_bytes = bytes;
    last_time = now;
    fmt::print(out, "testplayer: {:7.1f} s  started {}/{}  active {}  ok {}  failed {}  {:.2f} Mbit/s\n",
               seconds_since(state.t0), state.started, state.config.players,
               state.live.active.load(std::memory_order_relaxed),
               state.live.succeeded.load(std::memory_order_relaxed),
               state.live.failed.load(std::memory_order_relaxed), mbps);
    std::fflush(out);
}

asio::awaitable<void> report_progress(RunState& state, std::FILE* out) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    state.progress_timer = &timer;
    std::uint64_t last_bytes = 0;
    auto last_time = state.t0;
    auto next = state.t0;
    while (state.finished < state.config.players) {
        next += std::chrono::seconds(1);
        timer.expires_at(next);
        auto [ec] = co_await timer.async_wait(net::k_use_tuple);
        if (ec) break;  // the run is over
        if (out != nullptr) print_progress(state, out, last_bytes, last_time);
    }
    state.progress_timer = nullptr;
}

}  // namespace

RunOutcome run_load(const RunConfig& config, std::FILE* progress) {
    asio::io_context io(1);
    // Players run on the main io_context, or spread over one io_context per worker thread.
    std::vector<std::unique_ptr<asio::io_context>> workers;
    std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
    std::vector<asio::any_io_executor> executors;
    const std::size_t worker_count = config.threads > 1 ? config.threads : 0;
    workers.reserve(worker_count);
    guards.reserve(worker_count);
    executors.reserve(worker_count + 1);
    if (worker_count == 0) executors.emplace_back(io.get_executor());
    for (std::size_t t = 0; t < worker_count; ++t) {
        auto& worker = *workers.emplace_back(std::make_unique<asio::io_context>(1));
        guards.emplace_back(worker.get_executor());
        executors.emplace_back(worker.get_executor());
    }
    std::vector<std::thread> threads;
    threads.reserve(worker_count);
    for (auto& worker : workers)
        threads.emplace_back([&context = *worker] { context.run(); });

    RunState state(config);
    state.t0 = Clock::now();
    asio::co_spawn(io, launch_players(state, executors), asio::detached);
    asio::co_spawn(io, report_progress(state, progress), asio::detached);
    asio::co_spawn(io, handle_signals(state, progress), asio::detached);
    io.run();
    guards.clear();
    for (auto& thread : threads)
        thread.join();
    return RunOutcome{std::move(state.results), seconds_since(state.t0)};
}

}  // namespace sg::loadtest
