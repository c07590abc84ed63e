#pragma once
// The VOD cache's files: one recording per mount and upstream URL (recording.hpp: Matroska, or MPEG-TS for
// MP2T upstreams) and a JSON sidecar naming it with what revalidates it (the URL, the upstream's SDP and
// Last-Modified), in one directory, bounded in bytes with
// least-recently-used eviction. Entries survive a restart: load() reads the sidecars back (and removes
// recordings that never finished); they are revalidated at their first use. A file evicted while players
// read it stays readable to them (it is unlinked, not truncated).
// Used from one event loop (the gateway's proxy loop); its file operations are a rename, an unlink or a
// small sidecar write per recording, never per packet.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace sg::vod {

struct EntryInfo {
    std::string url;            // the upstream, without credentials
    std::string sdp;            // its DESCRIBE answer when recorded
    std::string last_modified;  // its Last-Modified header then ("" when it sent none)
};

class Store {
public:
    using Clock = std::chrono::steady_clock;

    struct Entry {
        std::filesystem::path file;
        EntryInfo info;
        std::uint64_t bytes = 0;
        std::optional<Clock::time_point> validated;  // last checked against the upstream (none: never)
        std::uint64_t last_used = 0;                 // LRU order
    };

    Store(std::filesystem::path directory, std::uint64_t max_bytes)
        : directory_(std::move(directory)), max_bytes_(max_bytes) {}

    // Creates the directory, drops unfinished recordings and reads the entries of earlier runs. False (with
    // `error`) when the directory cannot be used.
    bool load(std::string& error);

    // The key of an upstream URL: a SHA-256 in hex, the entry's file name.
    static std::string key_of(std::string_view url);

    // The entry of `key`, marked used now; nothing when there is none.
    const Entry* use(const std::string& key);
    // The same without marking it used.
    const Entry* find(const std::string& key) const;
    // Where a recording of `key` with the file name suffix `suffix` (".mkv") is written until commit().
    std::filesystem::path partial_path(const std::string& key, std::string_view suffix) const;
    // Makes the finished recording at `partial` (a partial_path) the entry of `key`, validated now, and
    // evicts the least recently used others until the cache fits. False (the recording removed, `error` says
    // why) when it cannot be stored or alone exceeds the cache's size.
    bool commit(const std::string& key, const std::filesystem::path& partial, EntryInfo info,
                std::string& error);
    void mark_validated(const std::string& key);
    void remove(const std::string& key);

    std::uint64_t bytes() const noexcept { return bytes_; }
    std::size_t entries() const noexcept { return entries_.size(); }
    std::uint64_t evictions() const noexcept { return evictions_; }
    std::uint64_t max_bytes() const noexcept { return max_bytes_; }

private:
    std::filesystem::path sidecar_path(const std::string& key) const;
    void evict_to_fit(const std::string& keep);

    std::filesystem::path directory_;
    std::uint64_t max_bytes_;
    std::map<std::string, Entry> entries_;
    std::uint64_t bytes_ = 0;
    std::uint64_t use_counter_ = 0;
    std::uint64_t evictions_ = 0;
};

}  // namespace sg::vod
