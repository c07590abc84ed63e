#pragma once
// Waits on an event loop for a condition that other threads change and nothing completes on: the number of
// connections or sessions still open on every loop, at shutdown. Looks every `interval` on `timer` and
// calls `then` once, the first time `ready` holds. The wait lives as long as it is armed on `timer`: stopping
// the timer's io_context ends it without calling `then`.

#include <asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <system_error>
#include <utility>

namespace sg::net {

inline void poll_until(asio::steady_timer& timer, std::chrono::milliseconds interval,
                       std::function<bool()> ready, std::function<void()> then) {
    struct Wait {
        asio::steady_timer& timer;
        std::chrono::milliseconds interval;
        std::function<bool()> ready;
        std::function<void()> then;
        static void arm(const std::shared_ptr<Wait>& wait) {
            wait->timer.expires_after(wait->interval);
            wait->timer.async_wait([wait](const std::error_code& ec) {
                if (ec) return;
                if (wait->ready()) {
                    wait->then();
                } else {
                    arm(wait);
                }
            });
        }
    };
    Wait::arm(std::make_shared<Wait>(Wait{timer, interval, std::move(ready), std::move(then)}));
}

}  // namespace sg::net
