#include "server/presentation_cache.hpp"

#include <array>
#include <chrono>
#include <ctime>
#include <system_error>

#include "server/track_packetizer.hpp"

namespace sg::server {
namespace {

std::string http_date(std::filesystem::file_time_type mtime) {
    const auto system = std::chrono::file_clock::to_sys(mtime);
    const std::time_t seconds = std::chrono::system_clock::to_time_t(
        std::chrono::time_point_cast<std::chrono::system_clock::duration>(system));
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    std::array<char, 64> text{};
    const auto size = std::strftime(text.data(), text.size(), "%a, %d %b %Y %H:%M:%S GMT", &utc);
    return std::string(text.data(), size);
}

}  // namespace

std::shared_ptr<PresentationCache::Entry> PresentationCache::entry_for(const std::string& key) {
    const std::lock_guard lock(mutex_);
    auto it = entries_.find(key);
    if (it != entries_.end()) return it->second;
    if (entries_.size() >= k_max_entries) {
        // Evict any one entry; whoever still holds it finishes with its own copy.
        entries_.erase(entries_.begin());
    }
    return entries_.emplace(key, std::make_shared<Entry>()).first->second;
}

std::shared_ptr<const Presentation> PresentationCache::get(const std::filesystem::path& file,
                                                           std::string& error) {
    std::error_code ec;
    const auto mtime = std::filesystem::last_write_time(file, ec);
    const auto size = ec ? 0 : std::filesystem::file_size(file, ec);
    if (ec) {
        error = ec.message();
        return nullptr;
    }
    const auto entry = entry_for(file.string());
    const std::lock_guard lock(entry->mutex);
    if (!entry->valid || entry->mtime != mtime || entry->size != size) {
        {
            const std::lock_guard count_lock(mutex_);
            ++probes_;
        }
        entry->valid = true;
        entry->mtime = mtime;
        entry->size = size;
        entry->presentation = nullptr;
        entry->error.clear();
        auto media = MediaFile::open(file, entry->error, force_mp2t_);
        if (media) {
            auto presentation = std::make_shared<Presentation>();
            presentation->layout = media->layout();
            presentation->last_modified = http_date(mtime);
            for (std::size_t i = 0; i < media->tracks().size() && entry->error.empty(); ++i) {
                auto packetizer = TrackPacketizer::create(media->tracks()[i], i, max_payload_);
                if (packetizer) {
                    presentation->media_sdp += packetizer->sdp_media();
                } else {
                    entry->error = "track " + std::to_string(i) + ": " + std::string(packetizer.error());
                }
            }
            if (entry->error.empty()) entry->presentation = std::move(presentation);
        }
    }
    if (!entry->presentation) error = entry->error;
    return entry->presentation;
}

std::uint64_t PresentationCache::probes() const {
    const std::lock_guard lock(mutex_);
    return probes_;
}

}  // namespace sg::server
