#pragma once
// `streamgate detect -r` over a capture held in memory (MappedFile + CaptureReader), on one thread or
// split by flow across several (detect/detector.hpp: flow_partition): the calling thread reads and decodes
// every frame once, tracks partition 0's flows and hands each other partition's thread its packets in
// batches, with the capture times at which a single run's expiry clock moves. The merged result is the
// single run's (merge_partitions); when it might not be, the capture is read again on one thread, so the
// report never depends on the thread count.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/byte_io.hpp"
#include "detect/detector.hpp"

namespace sg::detect {

struct FileDetectOptions {
    unsigned threads = 1;
    // Smaller captures are read on one thread: starting threads costs more than it saves.
    std::size_t min_parallel_bytes = std::size_t{16} << 20;
    // Single-threaded runs only: called every 65536 frames with the bytes read so far and the size.
    std::function<void(const Detector&, std::size_t offset, std::size_t size)> progress;
};

struct FileDetectResult {
    std::unique_ptr<Detector> detector;
    bool have_time = false;
    std::int64_t first_time_ns = 0;  // of the first and last frame
    std::int64_t last_time_ns = 0;
    std::string error;       // the capture was damaged here; frames before it are counted
    unsigned threads = 1;    // threads whose result is reported
    std::string single_why;  // why a parallel run was redone on one thread (empty otherwise)
};

// `file` must be a whole pcap or pcapng capture (check with CaptureReader::open first).
FileDetectResult detect_file(Bytes file, const DetectorConfig& config, const FileDetectOptions& options);

}  // namespace sg::detect
