#include "net/fork_join_pool.hpp"

namespace sg::net {

ForkJoinPool::ForkJoinPool(std::size_t helpers) {
    threads_.reserve(helpers);
    for (std::size_t i = 0; i < helpers; ++i)
        threads_.emplace_back([this] { serve(); });
}

ForkJoinPool::~ForkJoinPool() {
    {
        const std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    work_.notify_all();
    for (auto& thread : threads_)
        thread.join();
}

std::uint64_t ForkJoinPool::shared_jobs() const noexcept {
    const std::lock_guard lock(mutex_);
    return shared_jobs_;
}

std::uint64_t ForkJoinPool::contended() const noexcept {
    const std::lock_guard lock(mutex_);
    return contended_;
}

void ForkJoinPool::run_erased(std::size_t parts, const void* context, Call call) {
    std::unique_lock caller(caller_, std::try_to_lock);
    if (parts <= 1 || threads_.empty() || !caller.owns_lock()) {
        if (parts > 1 && !threads_.empty()) {
            const std::lock_guard lock(mutex_);
            ++contended_;
        }
        for (std::size_t i = 0; i < parts; ++i)
            call(context, i);
        return;
    }
    std::unique_lock lock(mutex_);
    context_ = context;
    call_ = call;
    parts_ = parts;
    next_ = 0;
    ++generation_;
    ++shared_jobs_;
    work_.notify_all();
    run_parts(lock);
    // Parts a helper took may still be running: the job's context must outlive them.
    finished_.wait(lock, [this] { return running_ == 0; });
    call_ = nullptr;
    context_ = nullptr;
}

void ForkJoinPool::run_parts(std::unique_lock<std::mutex>& lock) {
    while (call_ != nullptr && next_ < parts_) {
        const std::size_t part = next_++;
        ++running_;
        const Call call = call_;
        const void* context = context_;
        lock.unlock();
        call(context, part);
        lock.lock();
        if (--running_ == 0 && next_ >= parts_) finished_.notify_all();
    }
}

void ForkJoinPool::serve() {
    std::unique_lock lock(mutex_);
    // Not the current generation: a helper that starts after the first job was posted must still see it.
    std::uint64_t seen = 0;
    for (;;) {
        work_.wait(lock, [&] { return stopping_ || generation_ != seen; });
        if (stopping_) return;
        seen = generation_;
        run_parts(lock);
    }
}

}  // namespace sg::net
