#include "load.hpp"

#include <algorithm>
#include <array>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/read.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace sg::bench {
namespace {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto k_use = asio::experimental::as_tuple(asio::use_awaitable);

// What one worker is waiting on. A sweeper closes sockets that overrun their deadline, which fails the
// pending operation: cheaper than a timer per operation, and the load tool must not be the bottleneck.
struct Slot {
    tcp::socket* socket = nullptr;
    Clock::time_point started;
    bool timed_out = false;
};

class Sweeper {
public:
    Sweeper(asio::io_context& io, std::vector<Slot>& slots, Clock::duration limit)
        : timer_(io), slots_(slots), limit_(limit) {}

    void start() { arm(); }
    void stop() { timer_.cancel(); }

private:
    void arm() {
        timer_.expires_after(std::chrono::milliseconds(50));
        timer_.async_wait([this](const asio::error_code& ec) {
            if (ec) return;
            const auto now = Clock::now();
            for (auto& slot : slots_) {
                if (slot.socket == nullptr || now - slot.started < limit_) continue;
                asio::error_code ignored;
                slot.socket->close(ignored);
                slot.timed_out = true;
            }
            arm();
        });
    }

    asio::steady_timer timer_;
    std::vector<Slot>& slots_;
    Clock::duration limit_;
};

struct Tally {
    std::uint64_t ok = 0;
    std::uint64_t failed = 0;
    std::map<std::string_view, std::uint64_t> errors;

    void fail(std::string_view why) {
        ++failed;
        ++errors[why];
    }
};

std::string endpoint_text(const TunnelPlan& plan) {
    if (!plan.proxy) return "direct";
    const auto& p = *plan.proxy;
    const auto host = p.address().to_string();
    std::string out = p.address().is_v6() ? "[" : "";
    out += host;
    out += p.address().is_v6() ? "]:" : ":";
    out += std::to_string(p.port());
    return out;
}

std::string errors_json(const Tally& tally) {
    std::string out = "{";
    for (const auto& [why, n] : tally.errors) {
        // Plain appends: g++ 12 -O3 reports a false -Wrestrict on `"\"" + std::string(...)`.
        if (out.size() > 1) out += ',';
        out += '"';
        out.append(why);
        out += "\":";
        out += std::to_string(n);
    }
    return out + "}";
}

// --- rate --------------------------------------------------------------------------------------------

struct RateState {
    const RateOptions& options;
    Clock::time_point end;
    Tally tally;
    std::vector<std::uint32_t> latencies_us;
    std::size_t running = 0;
    asio::steady_timer* hard_stop = nullptr;
};

asio::awaitable<void> rate_worker(RateState& state, Slot& slot, Sweeper& sweeper) {
    auto executor = co_await asio::this_coro::executor;
    asio::steady_timer pause(executor);
    while (Clock::now() < state.end) {
        tcp::socket socket(executor);
        const auto started = Clock::now();
        slot = Slot{&socket, started, false};
        const std::string_view error = co_await open_tunnel(socket, state.options.plan, k_close_request);
        const auto opened = Clock::now();
        const bool counts = opened < state.end;  // tunnels finishing after the window are not counted
        if (error.empty()) {
            if (counts) {
                ++state.tally.ok;
                const auto us = std::chrono::duration_cast<std::chrono::microseconds>(opened - started);
                state.latencies_us.push_back(static_cast<std::uint32_t>(us.count()));
            }
            // Wait for the teardown to come back, so the proxy has closed both legs before this worker
            // starts the next tunnel: the rate covers whole sessions, at most `concurrency` at a time.
            co_await close_from_far_side(socket, true);
        } else {
            // Failures count even after the window: a proxy that hangs would otherwise look merely slow.
            state.tally.fail(slot.timed_out ? std::string_view{"timeout"} : error);
            // A refusing proxy answers at once: pause so failures do not become a busy loop.
            pause.expires_after(std::chrono::milliseconds(10));
            co_await pause.async_wait(k_use);
        }
        slot.socket = nullptr;
    }
    if (--state.running == 0) {
        sweeper.stop();
        state.hard_stop->cancel();
    }
}

std::uint32_t percentile(const std::vector<std::uint32_t>& sorted, double p) {
    if (sorted.empty()) return 0;
    const auto at = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1));
    return sorted[at];
}

// --- hold --------------------------------------------------------------------------------------------

struct HoldState {
    const HoldOptions& options;
    std::deque<tcp::socket> sockets;
    std::size_t next = 0;
    Tally tally;
    std::size_t running = 0;
};

// While held with echo_every: one pacing timer per tunnel, whether an echo or re-open is in flight, and the
// counts of the status line.
struct Keeper {
    std::deque<asio::steady_timer> pacers;
    std::vector<bool> busy;
    bool releasing = false;
    std::uint64_t echoes = 0;
    std::uint64_t echo_failed = 0;
    std::uint64_t reopened = 0;
    std::uint64_t reopen_failed = 0;
};

// Sends `payload` bytes through the tunnel and reads the echo back.
asio::awaitable<std::string_view> exchange(tcp::socket& socket, std::size_t payload) {
    if (payload == 0) co_return std::string_view{};
    const std::vector<std::uint8_t> sent(payload, k_keep_open);
    std::vector<std::uint8_t> echoed(payload);
    auto [write_ec, written] = co_await asio::async_write(socket, asio::buffer(sent), k_use);
    if (write_ec) co_return "payload send failed";
    auto [read_ec, read] = co_await asio::async_read(socket, asio::buffer(echoed), k_use);
    if (read_ec || echoed != sent) co_return "payload not echoed";
    co_return std::string_view{};
}

asio::awaitable<void> hold_worker(HoldState& state, Slot& slot) {
    while (state.next < state.sockets.size()) {
        tcp::socket& socket = state.sockets[state.next++];
        slot = Slot{&socket, Clock::now(), false};
        std::string_view error = co_await open_tunnel(socket, state.options.plan, k_keep_open);
        if (error.empty()) error = co_await exchange(socket, state.options.payload);
        if (error.empty()) {
            ++state.tally.ok;
        } else {
            state.tally.fail(slot.timed_out ? std::string_view{"timeout"} : error);
            asio::error_code ignored;
            socket.close(ignored);
        }
        slot.socket = nullptr;
    }
}

// Keeps tunnel `index` busy while held: an echo of `payload` bytes every echo_every; a tunnel whose echo
// fails is closed and opened again at the next tick, so the number of live tunnels stays at the target.
asio::awaitable<void> keep_busy(HoldState& state, Keeper& keeper, std::size_t index) {
    auto executor = co_await asio::this_coro::executor;
    tcp::socket& socket = state.sockets[index];
    asio::steady_timer& pacer = keeper.pacers[index];
    asio::steady_timer guard(executor);
    const auto every = state.options.echo_every;
    // Spread the tunnels over the interval instead of echoing all at once.
    pacer.expires_after(every * static_cast<long>(index) / static_cast<long>(state.sockets.size()));
    co_await pacer.async_wait(k_use);
    while (!keeper.releasing) {
        keeper.busy[index] = true;
        guard.expires_after(state.options.op_timeout);
        guard.async_wait([&socket](const asio::error_code& ec) {
            asio::error_code ignored;
            if (!ec) socket.close(ignored);
        });
        const bool reopening = !socket.is_open();
        std::string_view error = reopening ? co_await open_tunnel(socket, state.options.plan, k_keep_open)
                                           : co_await exchange(socket, state.options.payload);
        guard.cancel();
        keeper.busy[index] = false;
        if (keeper.releasing) break;
        if (reopening) {
            ++(error.empty() ? keeper.reopened : keeper.reopen_failed);
        } else {
            ++(error.empty() ? keeper.echoes : keeper.echo_failed);
        }
        if (!error.empty()) {
            asio::error_code ignored;
            socket.close(ignored);
        }
        pacer.expires_after(every);
        co_await pacer.async_wait(k_use);
    }
}

}  // namespace

int run_rate(const RateOptions& options) {
    asio::io_context io(1);
    std::vector<Slot> slots(options.concurrency);
    Sweeper sweeper(io, slots, options.op_timeout);
    const auto started = Clock::now();
    // The sweeper bounds every tunnel, so this deadline should never fire; if it does, the result still gets
    // printed, with the workers that were stuck.
    asio::steady_timer hard_stop(io);
    hard_stop.expires_after(options.duration + 2 * options.op_timeout);
    hard_stop.async_wait([&io](const asio::error_code& ec) {
        if (!ec) io.stop();
    });
    RateState state{options, started + options.duration, {}, {}, options.concurrency, &hard_stop};
    state.latencies_us.reserve(std::size_t{1} << 20);
    for (auto& slot : slots)
        asio::co_spawn(io, rate_worker(state, slot, sweeper), asio::detached);
    sweeper.start();
    io.run();
    const double elapsed = std::chrono::duration<double>(options.duration).count();
    const double wall = std::chrono::duration<double>(Clock::now() - started).count();

    std::sort(state.latencies_us.begin(), state.latencies_us.end());
    std::printf(
        "{\"mode\":\"rate\",\"proxy\":\"%s\",\"pipeline\":%s,\"concurrency\":%zu,\"seconds\":%.3f,"
        "\"wall_seconds\":%.3f,\"completed\":%llu,\"failed\":%llu,\"per_second\":%.1f,"
        "\"latency_us\":{\"p50\":%u,\"p90\":%u,\"p99\":%u},\"stuck_workers\":%zu,\"errors\":%s}\n",
        endpoint_text(options.plan).c_str(), options.plan.pipeline ? "true" : "false", options.concurrency,
        elapsed, wall, static_cast<unsigned long long>(state.tally.ok),
        static_cast<unsigned long long>(state.tally.failed), static_cast<double>(state.tally.ok) / elapsed,
        percentile(state.latencies_us, 0.5), percentile(state.latencies_us, 0.9),
        percentile(state.latencies_us, 0.99), state.running, errors_json(state.tally).c_str());
    return state.tally.ok > 0 ? 0 : 1;
}

int run_hold(const HoldOptions& options) {
    asio::io_context io(1);
    const std::size_t workers = std::max<std::size_t>(1, std::min(options.concurrency, options.count));
    std::vector<Slot> slots(workers);
    Sweeper sweeper(io, slots, options.op_timeout);
    HoldState state{options, {}, 0, {}, workers};
    Keeper keeper;
    for (std::size_t i = 0; i < options.count; ++i)
        state.sockets.emplace_back(io);

    const auto started = Clock::now();
    asio::signal_set signals(io, SIGINT, SIGTERM);
    asio::steady_timer hold_timer(io);
    asio::steady_timer release_deadline(io);
    asio::steady_timer status_timer(io);
    bool opened = false;
    bool releasing = false;
    std::size_t releases = 0;

    // Tears the tunnels down from the sink's side (see close_from_far_side), within 15 s.
    auto release = [&]() {
        if (releasing) return;
        releasing = true;
        keeper.releasing = true;
        signals.cancel();
        hold_timer.cancel();
        status_timer.cancel();
        for (auto& pacer : keeper.pacers)
            pacer.cancel();
        for (std::size_t i = 0; i < state.sockets.size(); ++i) {
            auto& socket = state.sockets[i];
            if (!socket.is_open()) continue;
            if (!keeper.busy.empty() && keeper.busy[i]) {  // an echo in flight: just close
                asio::error_code ignored;
                socket.close(ignored);
                continue;
            }
            ++releases;
            asio::co_spawn(io, close_from_far_side(socket, false), [&](const std::exception_ptr&) {
                if (--releases == 0) release_deadline.cancel();
            });
        }
        release_deadline.expires_after(std::chrono::seconds(15));
        release_deadline.async_wait([&io](const asio::error_code& ec) {
            if (!ec) io.stop();
        });
    };
    signals.async_wait([&](const asio::error_code& ec, int) {
        if (ec) return;
        if (opened) {
            release();
        } else {
            io.stop();  // interrupted while opening: just go
        }
    });

    // While held with echo_every: one line every 10 s for whoever watches the run (bench/soak/run.sh).
    std::function<void()> print_status = [&]() {
        std::size_t open_tunnels = 0;
        for (const auto& socket : state.sockets)
            open_tunnels += socket.is_open() ? 1 : 0;
        const double held = std::chrono::duration<double>(Clock::now() - started).count();
        std::printf(
            "{\"mode\":\"hold-status\",\"seconds\":%.0f,\"open\":%zu,\"echoes\":%llu,\"echo_failed\":%llu,"
            "\"reopened\":%llu,\"reopen_failed\":%llu}\n",
            held, open_tunnels, static_cast<unsigned long long>(keeper.echoes),
            static_cast<unsigned long long>(keeper.echo_failed),
            static_cast<unsigned long long>(keeper.reopened),
            static_cast<unsigned long long>(keeper.reopen_failed));
        std::fflush(stdout);
        status_timer.expires_after(std::chrono::seconds(10));
        status_timer.async_wait([&](const asio::error_code& ec) {
            if (!ec) print_status();
        });
    };

    // Once every tunnel is open (or failed), report and start the hold clock.
    auto report = [&]() {
        sweeper.stop();
        opened = true;
        const double open_seconds = std::chrono::duration<double>(Clock::now() - started).count();
        std::printf(
            "{\"mode\":\"hold\",\"proxy\":\"%s\",\"pipeline\":%s,\"payload\":%zu,\"requested\":%zu,"
            "\"established\":%llu,"
            "\"failed\":%llu,\"open_seconds\":%.3f,\"errors\":%s}\n",
            endpoint_text(options.plan).c_str(), options.plan.pipeline ? "true" : "false", options.payload,
            options.count, static_cast<unsigned long long>(state.tally.ok),
            static_cast<unsigned long long>(state.tally.failed), open_seconds,
            errors_json(state.tally).c_str());
        std::fflush(stdout);
        hold_timer.expires_after(options.hold);
        hold_timer.async_wait([&](const asio::error_code& ec) {
            if (!ec) release();
        });
        if (options.echo_every.count() == 0) return;
        keeper.busy.assign(state.sockets.size(), false);
        for (std::size_t i = 0; i < state.sockets.size(); ++i) {
            keeper.pacers.emplace_back(io);
            asio::co_spawn(io, keep_busy(state, keeper, i), asio::detached);
        }
        print_status();
    };
    for (auto& slot : slots) {
        asio::co_spawn(io, hold_worker(state, slot), [&state, &report](const std::exception_ptr&) {
            if (--state.running == 0) report();
        });
    }
    sweeper.start();
    io.run();
    return state.tally.ok > 0 ? 0 : 1;
}

}  // namespace sg::bench
