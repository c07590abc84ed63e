#include "net/rate_limited_log.hpp"

namespace sg::net {
namespace {

std::atomic<std::uint64_t> g_suppressed_total{0};

}  // namespace

RateLimitedLog::Verdict RateLimitedLog::admit(Clock::time_point now) {
    const std::lock_guard lock(mutex_);
    Verdict verdict;
    if (!open_ || now >= window_end_) {
        verdict.suppressed = suppressed_;
        open_ = true;
        window_end_ = now + budget_.window;
        written_ = 0;
        suppressed_ = 0;
    }
    if (written_ < budget_.lines) {
        ++written_;
        verdict.write = true;
    } else {
        ++suppressed_;
        g_suppressed_total.fetch_add(1, std::memory_order_relaxed);
    }
    return verdict;
}

std::string RateLimitedLog::summary(std::uint64_t suppressed) const {
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(budget_.window).count();
    return fmt::format("{}: ... and {} more like it in the last {} s", site_, group_thousands(suppressed),
                       seconds);
}

std::uint64_t RateLimitedLog::suppressed_total() noexcept {
    return g_suppressed_total.load(std::memory_order_relaxed);
}

std::string group_thousands(std::uint64_t n) {
    std::string digits = std::to_string(n);
    std::string out;
    out.reserve(digits.size() + digits.size() / 3);
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i != 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

}  // namespace sg::net
