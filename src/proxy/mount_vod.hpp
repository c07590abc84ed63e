#pragma once
// The VOD cache of the proxy's mounts (seed 000's "proxy cache"). A mount with vod_cache whose upstream is
// not live (its SDP gives a finite a=range) records the first complete pass it plays into the cache
// (vod_cache/recording.hpp): every packet, no loss, from the start to the upstream's RTCP BYE. Later
// players of that mount are then served from the recording by `serve`'s engine (server/file_sessions.hpp),
// each with its own session, timeline, seeks and trick play, and the upstream is not opened for them. An
// entry older than `fresh` is checked against the upstream before it is used: a DESCRIBE whose
// Last-Modified (or, without one, whose SDP) differs from the recorded one drops the entry, and the mount
// plays and records the upstream again; an upstream that cannot be reached leaves the entry in use until
// the next check, one `fresh` later.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "metrics/registry.hpp"
#include "vod_cache/store.hpp"

namespace asio {
class thread_pool;
}
namespace sg::server {
struct ServerContext;
}

namespace sg::proxy {

struct VodCacheOptions {
    std::filesystem::path directory;  // "": no cache
    std::uint64_t max_bytes = std::uint64_t{10} << 30;
    std::chrono::seconds fresh{60};
    // Server ports of cached playback's UDP players (serve's engine takes pairs from a range).
    std::uint16_t rtp_port_first = 40000;
    std::uint16_t rtp_port_last = 49999;
};

// Shared by the proxy's mounts and connections, on the proxy's event loop.
struct VodCache {
    VodCache(VodCacheOptions cache_options, metrics::Registry* registry);
    ~VodCache();
    VodCache(const VodCache&) = delete;
    VodCache& operator=(const VodCache&) = delete;

    VodCacheOptions options;
    vod::Store store;
    // serve's engine for cached playback: its blocking pool (demuxers open there), sessions and ports.
    std::unique_ptr<asio::thread_pool> blocking;
    std::unique_ptr<server::ServerContext> server;
    metrics::Counter* hits = nullptr;           // DESCRIBEs answered from a recording
    metrics::Counter* recordings = nullptr;     // recordings finished and stored
    metrics::Counter* abandoned = nullptr;      // recordings dropped (loss, early end, no room)
    metrics::Counter* invalidated = nullptr;    // entries dropped because the upstream changed
    metrics::Counter* revalidations = nullptr;  // upstream checks of entries older than `fresh`
};

// The cache of `options` (its directory created and its entries of earlier runs read), with serve's engine
// set up for players' sessions of `session_timeout`; null with `error` when the directory cannot be used.
std::shared_ptr<VodCache> make_vod_cache(const VodCacheOptions& options, std::chrono::seconds session_timeout,
                                         metrics::Registry* registry, std::string& error);

}  // namespace sg::proxy
