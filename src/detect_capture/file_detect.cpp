#include "detect_capture/file_detect.hpp"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "detect/capture_reader.hpp"
#include "detect/packet_decoder.hpp"

namespace sg::detect {
namespace {

// How often (in frames) a partition looks at the shared abort flag and at its own learned endpoints.
constexpr std::uint64_t k_check_every = 4096;

struct Extent {
    bool have_time = false;
    std::int64_t first_time_ns = 0;
    std::int64_t last_time_ns = 0;
    std::string error;
};

Extent run_single(Bytes file, Detector& detector, const FileDetectOptions& options) {
    Extent extent;
    CaptureReader reader;
    if (!reader.open(file, extent.error)) return extent;
    // One frame of lookahead: the next frame is decoded and its flow prefetched before the current one is
    // processed, so the flow lookup's cache miss overlaps the current frame's work.
    CaptureRecord current;
    CaptureRecord ahead;
    DecodedPacket current_packet;
    DecodedPacket ahead_packet;
    DecodeStatus current_status = DecodeStatus::ok;
    auto next = reader.next(current);
    if (next == CaptureReader::Next::frame)
        current_status = decode_frame(current.link_type, current.frame, current_packet);
    std::uint64_t since_progress = 0;
    while (next == CaptureReader::Next::frame) {
        const auto next_ahead = reader.next(ahead);
        DecodeStatus ahead_status = DecodeStatus::ok;
        if (next_ahead == CaptureReader::Next::frame) {
            ahead_status = decode_frame(ahead.link_type, ahead.frame, ahead_packet);
            if (ahead_status == DecodeStatus::ok) detector.prefetch(ahead_packet);
        }
        if (!extent.have_time) {
            extent.have_time = true;
            extent.first_time_ns = current.time_ns;
        }
        extent.last_time_ns = current.time_ns;
        detector.on_decoded_frame(current_status, current_packet, current.time_ns);
        if (options.progress && ++since_progress == 65536) {
            since_progress = 0;
            options.progress(detector, reader.offset(), reader.size());
        }
        next = next_ahead;
        current = ahead;
        current_packet = ahead_packet;
        current_status = ahead_status;
    }
    if (next == CaptureReader::Next::error) extent.error = reader.error();
    return extent;
}

// What the reading thread hands a partition's thread: one of its packets, or a capture time at which the
// single run's expiry clock started or swept.
struct Item {
    DecodedPacket packet;  // a view into the mapping
    std::int64_t time_ns = 0;
    std::uint64_t index = 0;  // the frame's position in the capture
    bool clock = false;
};

constexpr std::size_t k_batch = 1024;        // items handed over at once
constexpr std::size_t k_max_in_flight = 16;  // batches queued per partition before the reader waits

// Batches from the reading thread to one partition's thread.
class Channel {
public:
    // Blocks while the partition is k_max_in_flight batches behind.
    void push(std::vector<Item>&& batch) {
        std::unique_lock lock(mutex_);
        room_.wait(lock, [this] { return queue_.size() < k_max_in_flight; });
        queue_.push_back(std::move(batch));
        ready_.notify_one();
    }
    void close() {
        const std::scoped_lock lock(mutex_);
        closed_ = true;
        ready_.notify_one();
    }
    // False once closed and drained.
    bool pop(std::vector<Item>& batch) {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [this] { return !queue_.empty() || closed_; });
        if (queue_.empty()) return false;
        batch = std::move(queue_.front());
        queue_.pop_front();
        room_.notify_one();
        return true;
    }

private:
    std::mutex mutex_;
    std::condition_variable ready_;
    std::condition_variable room_;
    std::deque<std::vector<Item>> queue_;
    bool closed_ = false;
};

// A partition's thread: its packets and the clock's moves, in capture order, with the same lookahead
// prefetch as run_single.
void run_partition(Channel& channel, Detector& detector, std::atomic<bool>& abort) {
    std::vector<Item> batch;
    while (channel.pop(batch)) {
        if (abort.load(std::memory_order_relaxed)) continue;  // drain: the reader stops soon
        for (std::size_t i = 0; i < batch.size(); ++i) {
            if (i + 1 < batch.size() && !batch[i + 1].clock) detector.prefetch(batch[i + 1].packet);
            const Item& item = batch[i];
            if (item.clock)
                detector.on_foreign_packet(item.time_ns);
            else
                detector.on_partition_frame(item.index, DecodeStatus::ok, item.packet, item.time_ns);
        }
        // Learned endpoints would apply across partitions: the caller reads again on one thread.
        if (detector.learned_any()) abort.store(true, std::memory_order_relaxed);
    }
}

// The reading thread: reads and decodes every frame once, keeps partition 0 itself (and the frames that
// decode to no flow), and hands every other partition its packets. Partition 0's detector sees every
// decoded packet, its own or not, so its clock is the single run's; whenever it starts or sweeps, every
// other partition is told the time, ahead of any later packet.
Extent run_reader(Bytes file, std::vector<std::unique_ptr<Detector>>& detectors,
                  std::vector<Channel>& channels, std::atomic<bool>& abort) {
    Extent extent;
    CaptureReader reader;
    if (!reader.open(file, extent.error)) return extent;
    const std::size_t parts = detectors.size();
    Detector& own = *detectors[0];
    std::vector<std::vector<Item>> batches(parts);
    for (auto& b : batches)
        b.reserve(k_batch);
    const auto send = [&](std::size_t p, const Item& item) {
        batches[p].push_back(item);
        if (batches[p].size() == k_batch) {
            channels[p].push(std::move(batches[p]));
            batches[p] = {};
            batches[p].reserve(k_batch);
        }
    };
    struct Frame {
        CaptureRecord record;
        DecodedPacket packet;
        DecodeStatus status = DecodeStatus::ok;
        std::size_t part = 0;
    };
    const auto fetch = [&](Frame& f) {
        const auto next = reader.next(f.record);
        if (next != CaptureReader::Next::frame) return next;
        f.status = decode_frame(f.record.link_type, f.record.frame, f.packet);
        f.part = f.status == DecodeStatus::ok ? flow_partition(f.packet, parts) : 0;
        if (f.status == DecodeStatus::ok && f.part == 0) own.prefetch(f.packet);
        return next;
    };
    Frame current;
    Frame ahead;
    auto next = fetch(current);
    std::uint64_t index = 0;
    while (next == CaptureReader::Next::frame) {
        const auto next_ahead = fetch(ahead);
        const std::int64_t t = current.record.time_ns;
        if (!extent.have_time) {
            extent.have_time = true;
            extent.first_time_ns = t;
        }
        extent.last_time_ns = t;
        const std::uint64_t clock_before = own.clock_events();
        if (current.status != DecodeStatus::ok || current.part == 0)
            own.on_partition_frame(index, current.status, current.packet, t);
        else
            own.on_foreign_packet(t);
        if (own.clock_events() != clock_before) {
            Item tick;
            tick.time_ns = t;
            tick.clock = true;
            for (std::size_t p = 1; p < parts; ++p)
                send(p, tick);
        }
        if (current.status == DecodeStatus::ok && current.part != 0) {
            Item item;
            item.packet = current.packet;
            item.time_ns = t;
            item.index = index;
            send(current.part, item);
        }
        if (++index % k_check_every == 0) {
            if (own.learned_any()) abort.store(true, std::memory_order_relaxed);
            if (abort.load(std::memory_order_relaxed)) break;
        }
        next = next_ahead;
        current = ahead;
    }
    if (next == CaptureReader::Next::error) extent.error = reader.error();
    if (own.learned_any()) abort.store(true, std::memory_order_relaxed);
    for (std::size_t p = 1; p < parts; ++p) {
        if (!batches[p].empty()) channels[p].push(std::move(batches[p]));
        channels[p].close();
    }
    return extent;
}

FileDetectResult single(Bytes file, const DetectorConfig& config, const FileDetectOptions& options,
                        std::string why) {
    FileDetectResult result;
    result.detector = std::make_unique<Detector>(config);
    const Extent extent = run_single(file, *result.detector, options);
    result.have_time = extent.have_time;
    result.first_time_ns = extent.first_time_ns;
    result.last_time_ns = extent.last_time_ns;
    result.error = extent.error;
    result.threads = 1;
    result.single_why = std::move(why);
    return result;
}

}  // namespace

FileDetectResult detect_file(Bytes file, const DetectorConfig& config, const FileDetectOptions& options) {
    const std::size_t parts = options.threads;
    if (parts <= 1 || file.size() < options.min_parallel_bytes) return single(file, config, options, {});

    std::vector<std::unique_ptr<Detector>> detectors;
    for (std::size_t p = 0; p < parts; ++p)
        detectors.push_back(std::make_unique<Detector>(config));
    std::vector<Channel> channels(parts);
    std::atomic<bool> abort{false};
    Extent extent;
    {
        std::vector<std::jthread> threads;
        // Destroyed before the threads are joined: however run_reader() ends (an exception included), the
        // partitions' threads see their channels closed and return.
        struct CloseAll {
            std::vector<Channel>& channels;
            ~CloseAll() {
                for (auto& c : channels)
                    c.close();
            }
        } close_all{channels};
        for (std::size_t p = 1; p < parts; ++p)
            threads.emplace_back([&, p] { run_partition(channels[p], *detectors[p], abort); });
        extent = run_reader(file, detectors, channels, abort);
    }
    if (abort.load()) return single(file, config, options, "signalling taught media endpoints");

    FileDetectResult result;
    result.detector = std::make_unique<Detector>(config);
    std::string why_not;
    if (!merge_partitions(detectors, *result.detector, why_not))
        return single(file, config, options, why_not);
    result.have_time = extent.have_time;
    result.first_time_ns = extent.first_time_ns;
    result.last_time_ns = extent.last_time_ns;
    result.error = extent.error;
    result.threads = static_cast<unsigned>(parts);
    return result;
}

}  // namespace sg::detect
