#pragma once
// A few threads that help one caller finish a job split in parts, for work too large for one core but too
// short to hand to an event loop: a mount's fan-out of one upstream packet to thousands of UDP players is
// one sendmmsg(2) per part, and the kernel's per-datagram work then runs on several cores at once.
//
// run() returns only when every part has run, so a part may use anything the caller owns (views into its
// receive buffer, its batch of message headers) without copying or reference counting. The caller runs
// parts itself too and never waits for a sleeping helper to wake before starting. A second caller arriving
// while the helpers are busy runs its whole job itself rather than waiting: a pool never blocks an event
// loop longer than its own job takes.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace sg::net {

class ForkJoinPool {
public:
    // `helpers` threads besides the callers; 0 runs every job on the caller.
    explicit ForkJoinPool(std::size_t helpers);
    ~ForkJoinPool();
    ForkJoinPool(const ForkJoinPool&) = delete;
    ForkJoinPool& operator=(const ForkJoinPool&) = delete;

    std::size_t helpers() const noexcept { return threads_.size(); }
    // Jobs of several parts offered to the helpers, and those that found the helpers busy with another
    // caller's job and ran on their own caller alone.
    std::uint64_t shared_jobs() const noexcept;
    std::uint64_t contended() const noexcept;

    // Calls part(i) once for each i in [0, parts), on the caller and the helpers, and returns when all have
    // returned. `part` must not throw.
    template <class Part>
    void run(std::size_t parts, const Part& part) {
        run_erased(parts, &part,
                   [](const void* context, std::size_t i) { (*static_cast<const Part*>(context))(i); });
    }

private:
    using Call = void (*)(const void*, std::size_t);
    void run_erased(std::size_t parts, const void* context, Call call);
    void serve();
    // Takes and runs parts of the current job until none is left; `lock` is held on entry and on return.
    void run_parts(std::unique_lock<std::mutex>& lock);

    std::mutex caller_;         // one job at a time
    mutable std::mutex mutex_;  // guards everything below
    std::condition_variable work_;
    std::condition_variable finished_;
    std::uint64_t generation_ = 0;
    bool stopping_ = false;
    const void* context_ = nullptr;
    Call call_ = nullptr;
    std::size_t parts_ = 0;
    std::size_t next_ = 0;     // the next part nobody has taken
    std::size_t running_ = 0;  // parts taken and not yet finished
    std::uint64_t shared_jobs_ = 0;
    std::uint64_t contended_ = 0;
    std::vector<std::thread> threads_;
};

}  // namespace sg::net
