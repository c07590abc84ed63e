#pragma once
// Frames from a capture file (pcap or pcapng, through libpcap) or a live interface, with nanosecond
// capture times where the source has them.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/byte_io.hpp"

namespace sg::detect {

class PcapSource {
public:
    enum class Next : std::uint8_t { frame, timeout, end, error };

    static std::unique_ptr<PcapSource> open_file(const std::string& path, std::string& error);
    // `filter` is a BPF expression (may be empty).
    static std::unique_ptr<PcapSource> open_live(const std::string& interface, const std::string& filter,
                                                 std::string& error);
    ~PcapSource();
    PcapSource(const PcapSource&) = delete;
    PcapSource& operator=(const PcapSource&) = delete;

    int link_type() const noexcept { return link_type_; }
    std::string link_type_name() const { return link_type_name(link_type_); }
    // libpcap's name of a DLT ("EN10MB"), or "DLT n".
    static std::string link_type_name(int link_type);
    // On `frame`, time_ns and frame are set (the frame is valid until the next call).
    Next next(std::int64_t& time_ns, Bytes& frame);
    std::string error() const;
    // Position in the file and its size, for progress (nullopt for live captures).
    std::optional<std::pair<std::uint64_t, std::uint64_t>> file_progress() const;
    // Live only: frames the kernel dropped (nullopt when unknown).
    std::optional<std::uint64_t> kernel_drops() const;

private:
    struct Handle;
    explicit PcapSource(std::unique_ptr<Handle> handle);
    std::unique_ptr<Handle> handle_;
    int link_type_ = 0;
    bool nanoseconds_ = false;
    std::uint64_t file_size_ = 0;
    int live_fd_ = -1;  // live captures: the descriptor to poll while no frame is ready
};

}  // namespace sg::detect
