#include "relay_io/pcap_recorder.hpp"

#include <spdlog/spdlog.h>
#include <sys/time.h>

#include <chrono>

#include "relay/packet_headers.hpp"

namespace sg::relay_io {
namespace {

constexpr std::size_t k_max_name = 128;  // Call-IDs are peer-chosen: bound the file name
constexpr int k_snap_length = 65535;

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

std::filesystem::path PcapRecorder::path_for(const std::string& call_id, std::int64_t wall_now) const {
    return directory_ / (safe_name(call_id) + "-" + std::to_string(wall_now) + ".pcap");
}

bool PcapRecorder::start(const std::string& call_id, std::int64_t wall_now) {
    if (open_.count(call_id) != 0) return true;
    if (!dead_) return false;
    const auto path = path_for(call_id, wall_now);
    pcap_dumper_t* dumper = pcap_dump_open(dead_.get(), path.c_str());
    if (dumper == nullptr) {
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
