#pragma once
// Rate limiting for log lines a peer can trigger (a refused connection, a failed password, a bad datagram):
// a flood of garbage must not become a flood of log lines. Each log site owns one RateLimitedLog with a
// budget of N lines per window; lines beyond it are counted, not written, and the first line after the
// window ends is preceded by a summary ("... and 4,211 more like it in the last 10 s"). The counting is
// pure (time passed in, so tests need no sleeping); log() is the convenience that reads the clock and writes
// through spdlog.
//
// Threading: serve runs one event loop per core and shares log sites between them, so the state is guarded
// by a mutex. It is taken only on the (already exceptional) peer-triggered paths.

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace sg::net {

struct LogBudget {
    std::uint32_t lines = 10;  // written per window
    std::chrono::steady_clock::duration window = std::chrono::seconds{10};
};

class RateLimitedLog {
public:
    using Clock = std::chrono::steady_clock;

    struct Verdict {
        bool write = false;            // write this line
        std::uint64_t suppressed = 0;  // > 0: lines held back in the window that just ended; summarise first
    };

    using Budget = LogBudget;

    explicit RateLimitedLog(std::string site) : RateLimitedLog(std::move(site), LogBudget{}) {}
    RateLimitedLog(std::string site, LogBudget budget) : site_(std::move(site)), budget_(budget) {}
    RateLimitedLog(const RateLimitedLog&) = delete;
    RateLimitedLog& operator=(const RateLimitedLog&) = delete;

    // Counts one line at `now`. A window opens with the first line after the previous one ended.
    Verdict admit(Clock::time_point now);

    // The summary line for `suppressed` held-back lines, e.g. "site: ... and 4,211 more like it in the last
    // 10 s".
    std::string summary(std::uint64_t suppressed) const;

    template <typename... Args>
    void log(spdlog::level::level_enum level, fmt::format_string<Args...> format, Args&&... args) {
        const Verdict verdict = admit(Clock::now());
        if (verdict.suppressed != 0) spdlog::log(level, "{}", summary(verdict.suppressed));
        if (verdict.write) spdlog::log(level, format, std::forward<Args>(args)...);
    }
    template <typename... Args>
    void warn(fmt::format_string<Args...> format, Args&&... args) {
        log(spdlog::level::warn, format, std::forward<Args>(args)...);
    }
    template <typename... Args>
    void info(fmt::format_string<Args...> format, Args&&... args) {
        log(spdlog::level::info, format, std::forward<Args>(args)...);
    }
    template <typename... Args>
    void debug(fmt::format_string<Args...> format, Args&&... args) {
        log(spdlog::level::debug, format, std::forward<Args>(args)...);
    }

    const std::string& site() const noexcept { return site_; }

    // Lines held back by every RateLimitedLog of the process since it started (the metric
    // streamgate_log_lines_suppressed_total).
    static std::uint64_t suppressed_total() noexcept;

private:
    const std::string site_;
    const Budget budget_;
    std::mutex mutex_;
    bool open_ = false;  // a window is running
    Clock::time_point window_end_{};
    std::uint32_t written_ = 0;
    std::uint64_t suppressed_ = 0;
};

// "4211" -> "4,211": summaries are read by people.
std::string group_thousands(std::uint64_t n);

}  // namespace sg::net
