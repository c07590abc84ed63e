#include "relay_io/pcap_recorder.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <system_error>

#include "relay/packet_headers.hpp"

namespace sg::relay_io {
namespace {

constexpr std::size_t k_max_name = 128;  // Call-IDs are peer-chosen: bound the file name
constexpr int k_snap_length = 65535;
constexpr int k_max_attempts = 100;  // names tried for one recording: <name>-<time>.pcap, then -2 ... -100

std::string safe_name(std::string_view call_id) {
    std::string out;
    for (const char c : call_id.substr(0, k_max_name)) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        c == '.' || c == '_' || c == '-';
        out += ok ? c : '_';
    }
    if (out.empty() || out[0] == '.') out.insert(0, "call");
    return out;
}

}  // namespace

PcapRecorder::PcapRecorder(std::filesystem::path directory)
    : directory_(std::move(directory)), dead_(pcap_open_dead(DLT_RAW, k_snap_length)) {}

PcapRecorder::~PcapRecorder() = default;

std::filesystem::path PcapRecorder::path_for(const std::string& call_id, std::int64_t wall_now,
                                             int attempt) const {
    std::string name = safe_name(call_id) + "-" + std::to_string(wall_now);
    if (attempt > 1) name.append("-").append(std::to_string(attempt));
    return directory_ / (name + ".pcap");
}

bool PcapRecorder::start(const std::string& call_id, std::int64_t wall_now) {
    if (open_.count(call_id) != 0) return true;
    if (!dead_) return false;
    // A new file every time, never an existing one: two Call-IDs can make the same name (bytes made '_', the
    // 128-byte cut), every shard's recorder writes to this directory, and a call recorded again within the
    // same second would otherwise truncate its first recording. O_EXCL also refuses to follow a symlink.
    std::filesystem::path path;
    int fd = -1;
    int error = 0;
    for (int attempt = 1; attempt <= k_max_attempts && fd < 0; ++attempt) {
        path = path_for(call_id, wall_now, attempt);
        fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
        error = fd < 0 ? errno : 0;
        if (fd < 0 && error != EEXIST) break;
    }
    if (fd < 0) {
        spdlog::warn("relay: recording call {}: {}: {}", call_id, path.string(),
                     std::generic_category().message(error));
        return false;
    }
    std::FILE* file = ::fdopen(fd, "wb");
    if (file == nullptr) {
        ::close(fd);
        std::error_code ec;
        std::filesystem::remove(path, ec);
        spdlog::warn("relay: recording call {}: fdopen failed", call_id);
        return false;
    }
    pcap_dumper_t* dumper = pcap_dump_fopen(dead_.get(), file);  // owns `file` from here on
    if (dumper == nullptr) {
        std::fclose(file);
        std::error_code ec;
        std::filesystem::remove(path, ec);
        spdlog::warn("relay: recording call {}: {}", call_id, pcap_geterr(dead_.get()));
        return false;
    }
    open_.emplace(call_id, std::unique_ptr<pcap_dumper_t, Closer>(dumper));
    spdlog::info("relay: recording call {} to {}", call_id, path.string());
    return true;
}

void PcapRecorder::record(const std::string& call_id, const relay::Address& from, const relay::Address& to,
                          Bytes packet) {
    const auto it = open_.find(call_id);
    if (it == open_.end()) return;
    scratch_.clear();
    if (!relay::append_ip_udp_headers(scratch_, from, to, packet)) return;
    scratch_.insert(scratch_.end(), packet.begin(), packet.end());
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    pcap_pkthdr header{};
    header.ts.tv_sec = static_cast<time_t>(std::chrono::duration_cast<std::chrono::seconds>(now).count());
    header.ts.tv_usec = static_cast<suseconds_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(now).count() % 1000000);
    header.caplen = static_cast<bpf_u_int32>(std::min<std::size_t>(scratch_.size(), k_snap_length));
    header.len = static_cast<bpf_u_int32>(scratch_.size());
    pcap_dump(reinterpret_cast<u_char*>(it->second.get()), &header, scratch_.data());
}

void PcapRecorder::stop(const std::string& call_id) {
    const auto it = open_.find(call_id);
    if (it == open_.end()) return;
    open_.erase(it);  // closes the file, flushing it
    spdlog::info("relay: recording of call {} closed", call_id);
}

}  // namespace sg::relay_io
