#include "detect_capture/file_detect.hpp"

#include <atomic>
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

// One partition's pass over the whole capture. Partition 0 also counts the frames that do not decode to a
// flow (they belong to no partition). The same one-frame lookahead as run_single, prefetching only the
// flows of this partition.
Extent run_partition(Bytes file, Detector& detector, std::size_t part, std::size_t parts,
                     std::atomic<bool>& abort) {
    Extent extent;
    CaptureReader reader;
    if (!reader.open(file, extent.error)) return extent;
    struct Frame {
        CaptureRecord record;
        DecodedPacket packet;
        DecodeStatus status = DecodeStatus::ok;
        bool mine = false;  // a decoded packet of this partition, or (partition 0) a frame of none
    };
    const auto fetch = [&](Frame& f) {
        const auto next = reader.next(f.record);
        if (next != CaptureReader::Next::frame) return next;
        f.status = decode_frame(f.record.link_type, f.record.frame, f.packet);
        if (f.status != DecodeStatus::ok) {
            f.mine = part == 0;
        } else {
            f.mine = flow_partition(f.packet, parts) == part;
            if (f.mine) detector.prefetch(f.packet);
        }
        return next;
    };
    Frame current;
    Frame ahead;
    auto next = fetch(current);
    std::uint64_t index = 0;
    while (next == CaptureReader::Next::frame) {
        const auto next_ahead = fetch(ahead);
        if (!extent.have_time) {
            extent.have_time = true;
            extent.first_time_ns = current.record.time_ns;
        }
        extent.last_time_ns = current.record.time_ns;
        if (current.mine)
            detector.on_partition_frame(index, current.status, current.packet, current.record.time_ns);
        else if (current.status == DecodeStatus::ok)
            detector.on_foreign_packet(current.record.time_ns);
        if (++index % k_check_every == 0) {
            // Learned endpoints would apply across partitions: stop early, the caller reads on one thread.
            if (detector.learned_any()) abort.store(true, std::memory_order_relaxed);
            if (abort.load(std::memory_order_relaxed)) break;
        }
        next = next_ahead;
        current = ahead;
    }
    if (next == CaptureReader::Next::error) extent.error = reader.error();
    if (detector.learned_any()) abort.store(true, std::memory_order_relaxed);
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
    std::vector<Extent> extents(parts);
    std::atomic<bool> abort{false};
    {
        std::vector<std::jthread> threads;
        for (std::size_t p = 1; p < parts; ++p)
            threads.emplace_back(
                [&, p] { extents[p] = run_partition(file, *detectors[p], p, parts, abort); });
        extents[0] = run_partition(file, *detectors[0], 0, parts, abort);
    }
    if (abort.load()) return single(file, config, options, "signalling taught media endpoints");

    FileDetectResult result;
    result.detector = std::make_unique<Detector>(config);
    std::string why_not;
    if (!merge_partitions(detectors, *result.detector, why_not))
        return single(file, config, options, why_not);
    // Every partition read the same records, so the extent and any error are the same in all of them.
    result.have_time = extents[0].have_time;
    result.first_time_ns = extents[0].first_time_ns;
    result.last_time_ns = extents[0].last_time_ns;
    result.error = extents[0].error;
    result.threads = static_cast<unsigned>(parts);
    return result;
}

}  // namespace sg::detect
