#include "vod_cache/store.hpp"

#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <nlohmann/json.hpp>
#include <span>
#include <system_error>
#include <vector>

#include "common/hex.hpp"

namespace sg::vod {
namespace {

constexpr std::string_view k_partial_mark = ".partial.";
constexpr std::string_view k_sidecar_suffix = ".json";

bool write_sidecar(const std::filesystem::path& path, const std::string& file, const EntryInfo& info) {
    const nlohmann::json json{
        {"file", file}, {"url", info.url}, {"sdp", info.sdp}, {"last_modified", info.last_modified}};
    const auto temporary = std::filesystem::path(path.string() + ".tmp");
    {
        std::ofstream out(temporary, std::ios::trunc);
        out << json.dump();
        if (!out.flush()) return false;
    }
    std::error_code ec;
    std::filesystem::rename(temporary, path, ec);
    return !ec;
}

// The entry a sidecar describes and the name of its recording (a plain name in the same directory).
std::optional<EntryInfo> read_sidecar(const std::filesystem::path& path, std::string& file) {
    std::ifstream in(path);
    const auto json = nlohmann::json::parse(in, nullptr, false);
    if (json.is_discarded() || !json.is_object()) return std::nullopt;
    EntryInfo info;
    const auto text = [&json](const char* name, std::string& out) {
        const auto it = json.find(name);
        if (it == json.end() || !it->is_string()) return false;
        out = it->get<std::string>();
        return true;
    };
    if (!text("file", file) || !text("url", info.url) || !text("sdp", info.sdp) ||
        !text("last_modified", info.last_modified))
        return std::nullopt;
    if (file.empty() || file.find('/') != std::string::npos || file.starts_with(".")) return std::nullopt;
    return info;
}

}  // namespace

std::string Store::key_of(std::string_view url) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int size = 0;
    EVP_Digest(url.data(), url.size(), digest.data(), &size, EVP_sha256(), nullptr);
    return hex_lower(std::span<const std::uint8_t>(digest.data(), size));
}

std::filesystem::path Store::partial_path(const std::string& key, std::string_view suffix) const {
    return directory_ / (key + ".partial" + std::string(suffix));
}
std::filesystem::path Store::sidecar_path(const std::string& key) const {
    return directory_ / (key + std::string(k_sidecar_suffix));
}

bool Store::load(std::string& error) {
    std::error_code ec;
    std::filesystem::create_directories(directory_, ec);
    if (ec) {
        error = "cannot create " + directory_.string() + ": " + ec.message();
        return false;
    }
    // Oldest first, so the order of use restarts from the files' ages.
    std::vector<std::pair<std::filesystem::file_time_type, std::string>> found;
    std::error_code listing;
    for (const auto& item : std::filesystem::directory_iterator(directory_, listing)) {
        std::error_code ignored;
        const std::string name = item.path().filename().string();
        if (name.find(k_partial_mark) != std::string::npos || name.ends_with(".tmp")) {
            std::filesystem::remove(item.path(),
                                    ignored);  // a recording or sidecar the last run never finished
            continue;
        }
        if (!name.ends_with(k_sidecar_suffix)) continue;
        const std::string key = name.substr(0, name.size() - k_sidecar_suffix.size());
        std::string file_name;
        auto info = read_sidecar(item.path(), file_name);
        const auto file = directory_ / file_name;
        std::error_code missing;
        const auto size = info ? std::filesystem::file_size(file, missing) : 0;
        if (!info || missing) {
            std::filesystem::remove(item.path(), ignored);
            if (info) std::filesystem::remove(file, ignored);
            continue;
        }
        entries_[key] = Entry{file, std::move(*info), size, std::nullopt, 0};
        bytes_ += size;
        found.emplace_back(std::filesystem::last_write_time(file, ignored), key);
    }
    if (listing) {
        error = "cannot read " + directory_.string() + ": " + listing.message();
        return false;
    }
    std::sort(found.begin(), found.end());
    for (const auto& [time, key] : found)
        entries_[key].last_used = ++use_counter_;
    evict_to_fit("");
    return true;
}

const Store::Entry* Store::use(const std::string& key) {
    const auto it = entries_.find(key);
    if (it == entries_.end()) return nullptr;
    it->second.last_used = ++use_counter_;
    return &it->second;
}

const Store::Entry* Store::find(const std::string& key) const {
    const auto it = entries_.find(key);
    return it == entries_.end() ? nullptr : &it->second;
}

void Store::mark_validated(const std::string& key) {
    if (const auto it = entries_.find(key); it != entries_.end()) it->second.validated = Clock::now();
}

bool Store::commit(const std::string& key, const std::filesystem::path& partial, EntryInfo info,
                   std::string& error) {
    std::error_code ec;
    const auto file = directory_ / (key + partial.extension().string());
    const auto size = std::filesystem::file_size(partial, ec);
    if (ec || size > max_bytes_) {
        error = ec ? "recording lost: " + ec.message()
                   : "recording of " + std::to_string(size) + " bytes exceeds the cache's " +
                         std::to_string(max_bytes_);
        std::filesystem::remove(partial, ec);
        return false;
    }
    remove(key);
    if (!write_sidecar(sidecar_path(key), file.filename().string(), info)) {
        error = "cannot write " + sidecar_path(key).string();
        std::filesystem::remove(partial, ec);
        return false;
    }
    std::filesystem::rename(partial, file, ec);
    if (ec) {
        error = "cannot store the recording: " + ec.message();
        std::filesystem::remove(sidecar_path(key), ec);
        std::filesystem::remove(partial, ec);
        return false;
    }
    entries_[key] = Entry{file, std::move(info), size, Clock::now(), ++use_counter_};
    bytes_ += size;
    evict_to_fit(key);
    return true;
}

void Store::remove(const std::string& key) {
    const auto it = entries_.find(key);
    if (it == entries_.end()) return;
    std::error_code ec;
    std::filesystem::remove(sidecar_path(key), ec);
    std::filesystem::remove(it->second.file, ec);
    bytes_ -= it->second.bytes;
    entries_.erase(it);
}

void Store::evict_to_fit(const std::string& keep) {
    while (bytes_ > max_bytes_) {
        auto victim = entries_.end();
        for (auto it = entries_.begin(); it != entries_.end(); ++it) {
            if (it->first == keep) continue;
            if (victim == entries_.end() || it->second.last_used < victim->second.last_used) victim = it;
        }
        if (victim == entries_.end()) return;
        spdlog::info("vod cache: evicted {} ({} bytes, least recently used)", victim->second.info.url,
                     victim->second.bytes);
        ++evictions_;
        remove(victim->first);
    }
}

}  // namespace sg::vod
