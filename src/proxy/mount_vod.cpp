// The VOD cache half of a Mount (mount_vod.hpp): recording the first complete pass of a non-live upstream,
// and deciding whether a DESCRIBE is answered from the recording.
#include "proxy/mount_vod.hpp"

#include <spdlog/spdlog.h>

#include <asio/thread_pool.hpp>
#include <string_view>

#include "client/rtsp_client.hpp"
#include "proxy/mount.hpp"
#include "rtsp/rtp_info.hpp"
#include "server/file_sessions.hpp"
#include "vod_cache/recording.hpp"

namespace sg::proxy {
namespace {

// The SDP without its o= line (a version an origin may bump per answer), for comparing descriptions.
std::string without_origin_line(std::string_view sdp) {
    std::string out;
    while (!sdp.empty()) {
        const auto end = sdp.find('\n');
        const auto line = sdp.substr(0, end == std::string_view::npos ? sdp.size() : end + 1);
        sdp.remove_prefix(line.size());
        if (!line.starts_with("o=")) out += line;
    }
    return out;
}

std::string_view last_segment(std::string_view url) {
    const auto slash = url.rfind('/');
    return slash == std::string_view::npos ? url : url.substr(slash + 1);
}

}  // namespace

VodCache::VodCache(VodCacheOptions cache_options, metrics::Registry* registry)
    : options(std::move(cache_options)), store(options.directory, options.max_bytes) {
    static metrics::Registry fallback(metrics::Registry::OnError::record);
    auto& r = registry != nullptr ? *registry : fallback;
    hits =
        &r.counter("streamgate_vod_cache_hits_total", "DESCRIBEs of cached mounts answered from a recording");
    recordings = &r.counter("streamgate_vod_cache_recordings_total", "Upstream passes recorded and stored");
    abandoned = &r.counter("streamgate_vod_cache_recordings_abandoned_total",
                           "Recordings dropped: a packet lost, the upstream ended early, or no room");
    invalidated = &r.counter("streamgate_vod_cache_invalidated_total",
                             "Entries dropped because their upstream changed");
    revalidations = &r.counter("streamgate_vod_cache_revalidations_total",
                               "Entries checked against their upstream before use");
}

VodCache::~VodCache() {
    if (blocking) blocking->join();
}

std::shared_ptr<VodCache> make_vod_cache(const VodCacheOptions& options, std::chrono::seconds session_timeout,
                                         metrics::Registry* registry, std::string& error) {
    auto cache = std::make_shared<VodCache>(options, registry);
    if (!cache->store.load(error)) return nullptr;
    std::error_code ec;
    server::ServeConfig config;
    config.root = std::filesystem::canonical(options.directory, ec);
    if (ec) {
        error = "cannot resolve " + options.directory.string() + ": " + ec.message();
        return nullptr;
    }
    config.session_timeout = session_timeout;
    config.rtp_port_first = options.rtp_port_first;
    config.rtp_port_last = options.rtp_port_last;
    cache->blocking = std::make_unique<asio::thread_pool>(1);
    // Braces, not make_unique: the context holds mutexes and atomics, which cannot be moved into place.
    cache->server.reset(new server::ServerContext{
        config, server::UdpPortAllocator(config.rtp_port_first, config.rtp_port_last),
        server::PresentationCache(config.max_payload), server::MulticastRegistry(config.multicast)});
    cache->server->blocking = cache->blocking.get();
    if (registry != nullptr) {
        const std::weak_ptr<VodCache> weak = cache;
        registry->gauge_callback("streamgate_vod_cache_bytes", "Bytes of recordings in the VOD cache",
                                 [weak] {
                                     const auto held = weak.lock();
                                     return held ? static_cast<double>(held->store.bytes()) : 0.0;
                                 });
        registry->gauge_callback("streamgate_vod_cache_entries", "Recordings in the VOD cache", [weak] {
            const auto held = weak.lock();
            return held ? static_cast<double>(held->store.entries()) : 0.0;
        });
        registry->gauge_callback("streamgate_vod_cache_sessions_active",
                                 "Player sessions served from the VOD cache", [weak] {
                                     const auto held = weak.lock();
                                     if (!held) return 0.0;
                                     return static_cast<double>(held->server->sessions_started.load() -
                                                                held->server->sessions_ended.load());
                                 });
    }
    return cache;
}

void Mount::set_vod_cache(std::shared_ptr<VodCache> cache) {
    vod_ = config_.vod_cache ? std::move(cache) : nullptr;
    if (vod_) vod_key_ = vod::Store::key_of(config_.name + " " + rtsp::to_string(config_.url));
}

std::optional<std::filesystem::path> Mount::cached_file() const {
    if (!vod_) return std::nullopt;
    const auto* entry = vod_->store.find(vod_key_);
    if (entry == nullptr) return std::nullopt;
    return entry->file;
}

asio::awaitable<bool> Mount::serve_from_cache() {
    if (!vod_ || recording_) co_return false;
    const auto* entry = vod_->store.use(vod_key_);
    if (entry == nullptr) co_return false;
    if (!entry->validated || Clock::now() - *entry->validated >= vod_->options.fresh) {
        vod_->revalidations->inc();
        const vod::EntryInfo recorded = entry->info;  // the entry may go while the upstream is asked
        auto checking = check_upstream(recorded);
        const UpstreamCheck verdict = co_await std::move(checking);
        if (verdict == UpstreamCheck::changed) {
            spdlog::info(
                "rtsp mount {}: the upstream changed since it was recorded; dropping the VOD cache entry",
                config_.name);
            vod_->invalidated->inc();
            vod_->store.remove(vod_key_);
            co_return false;
        }
        // An upstream that cannot be asked is asked again one `fresh` later, not at every DESCRIBE: players
        // meanwhile get the copy at once (stale-if-error), and this line comes once per period.
        vod_->store.mark_validated(vod_key_);
        if (verdict == UpstreamCheck::unreachable) {
            spdlog::info(
                "rtsp mount {}: the upstream cannot be checked; serving the VOD cache entry as it is",
                config_.name);
        }
        if (vod_->store.find(vod_key_) == nullptr) co_return false;  // evicted meanwhile
    }
    vod_->hits->inc();
    co_return true;
}

asio::awaitable<Mount::UpstreamCheck> Mount::check_upstream(const vod::EntryInfo& recorded) {
    std::string error;
    const auto options = upstream_options(error);
    if (!options) co_return UpstreamCheck::unreachable;
    client::RtspClient client(executor_);
    auto connecting = client.connect(config_.url, *options);
    if (!co_await std::move(connecting)) co_return UpstreamCheck::unreachable;
    rtsp::Headers accept;
    accept.add("Accept", "application/sdp");
    auto describing = client.request("DESCRIBE", rtsp::to_string(config_.url), accept);
    const auto reply = co_await std::move(describing);
    client.close();
    if (!reply || reply->status >= 500) co_return UpstreamCheck::unreachable;
    if (reply->status != 200) co_return UpstreamCheck::changed;  // gone, or no longer ours to read
    const auto* modified = reply->headers.get("Last-Modified");
    if (modified != nullptr && !recorded.last_modified.empty())
        co_return *modified == recorded.last_modified ? UpstreamCheck::unchanged : UpstreamCheck::changed;
    co_return without_origin_line(reply->body) == without_origin_line(recorded.sdp) ? UpstreamCheck::unchanged
                                                                                    : UpstreamCheck::changed;
}

void Mount::start_recording(const client::Presentation& presentation, const rtsp::Response& describe,
                            const rtsp::Response& play) {
    end_recording(false, "the upstream started again");
    if (!vod_ || !presentation.duration_s || vod_->store.find(vod_key_) != nullptr) return;
    auto formats = vod::track_formats(describe.body);
    if (!formats) {
        spdlog::info("rtsp mount {}: not recorded for the VOD cache: {}", config_.name, formats.error());
        return;
    }
    std::string error;
    const auto partial = vod_->store.partial_path(vod_key_, vod::Recording::suffix(*formats));
    auto recording = vod::Recording::start(partial, std::move(*formats), error);
    if (!recording) {
        spdlog::warn("rtsp mount {}: not recorded for the VOD cache: {}", config_.name, error);
        std::error_code ignored;
        std::filesystem::remove(partial, ignored);
        return;
    }
    recording_file_ = partial;
    // Each track's RTP time at npt 0 puts the tracks in sync in the file.
    if (const auto* header = play.headers.get("RTP-Info")) {
        if (const auto entries = rtsp::parse_rtp_info(*header)) {
            for (std::size_t i = 0; i < presentation.tracks.size(); ++i) {
                for (const auto& entry : *entries) {
                    if (entry.rtptime &&
                        last_segment(entry.url) == last_segment(presentation.tracks[i].control_url))
                        recording->set_start_rtptime(i, *entry.rtptime);
                }
            }
        }
    }
    const auto* modified = describe.headers.get("Last-Modified");
    recording_info_ = vod::EntryInfo{rtsp::to_string(config_.url), describe.body,
                                     modified != nullptr ? *modified : std::string()};
    recording_ = std::move(recording);
    spdlog::info("rtsp mount {}: recording {:.1f} s of {} for the VOD cache", config_.name,
                 *presentation.duration_s, recording_info_.url);
}

void Mount::feed_recording(std::size_t track, std::span<const std::uint8_t> packet, Clock::time_point now) {
    recording_->feed(track, Bytes(packet.data(), packet.size()), now);
    if (recording_->damaged()) end_recording(false, recording_->why());
}

void Mount::end_recording(bool complete, std::string_view why) {
    if (!recording_) return;
    const auto recording = std::move(recording_);
    recording_.reset();
    if (complete && recording->finish()) {
        std::string error;
        if (vod_->store.commit(vod_key_, recording_file_, std::move(recording_info_), error)) {
            vod_->recordings->inc();
            spdlog::info("rtsp mount {}: stored in the VOD cache ({} bytes, {} units; cache {} of {} bytes)",
                         config_.name, recording->bytes(), recording->units(), vod_->store.bytes(),
                         vod_->store.max_bytes());
            return;
        }
        why = error;
        spdlog::info("rtsp mount {}: recording not stored in the VOD cache: {}", config_.name, why);
        vod_->abandoned->inc();
        return;
    }
    spdlog::info("rtsp mount {}: recording for the VOD cache abandoned: {}", config_.name,
                 recording->damaged() ? std::string_view(recording->why()) : why);
    vod_->abandoned->inc();
    std::error_code ignored;
    std::filesystem::remove(recording_file_, ignored);
}

}  // namespace sg::proxy
