#pragma once
// What DESCRIBE and SETUP need to know about a media file (its tracks, duration and SDP media sections),
// probed once per version of the file rather than once per request. A version is the file's modification
// time and size: a file replaced or still growing is probed again on its next request. The cache is shared
// by every event loop; lookups stat (and on a miss probe) the file, so they run off the loops, on the
// server's blocking pool.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "server/media_file.hpp"

namespace sg::server {

struct Presentation {
    ProbedLayout layout;
    std::string media_sdp;  // "m=" sections of every track, in track order, CRLF line endings
    // The file's modification time as an HTTP-date (RFC 9110 §5.6.7), DESCRIBE's Last-Modified: what a
    // caching proxy (the gateway's VOD cache) revalidates against.
    std::string last_modified;
};

class PresentationCache {
public:
    // `force_mp2t`: files are probed as serve sends them with --mp2t (one MPEG-TS track each).
    explicit PresentationCache(std::size_t max_payload, bool force_mp2t = false) noexcept
        : max_payload_(max_payload), force_mp2t_(force_mp2t) {}

    // The presentation of `file`; nullptr with `error` set when it cannot be read or has no playable track
    // (failures are cached too, per version). Blocking; safe from any thread. Concurrent requests for one
    // file wait for a single probe.
    std::shared_ptr<const Presentation> get(const std::filesystem::path& file, std::string& error);

    std::uint64_t probes() const;  // full probes done so far (hits cost a stat only)

    static constexpr std::size_t k_max_entries = 1024;  // a directory of many files must not grow it forever

private:
    struct Entry {
        std::mutex mutex;  // held while probing: one probe per file at a time
        bool valid = false;
        std::filesystem::file_time_type mtime;
        std::uintmax_t size = 0;
        std::shared_ptr<const Presentation> presentation;
        std::string error;
    };

    std::shared_ptr<Entry> entry_for(const std::string& key);

    std::size_t max_payload_;
    bool force_mp2t_;
    mutable std::mutex mutex_;  // guards entries_ and probes_
    std::unordered_map<std::string, std::shared_ptr<Entry>> entries_;
    std::uint64_t probes_ = 0;
};

}  // namespace sg::server
