#include "detect_capture/pcap_source.hpp"

#include <pcap/pcap.h>
#include <poll.h>
#include <sys/stat.h>

#include <cstdio>

namespace sg::detect {

struct PcapSource::Handle {
    pcap_t* pcap = nullptr;
    ~Handle() {
        if (pcap != nullptr) pcap_close(pcap);
    }
};

PcapSource::PcapSource(std::unique_ptr<Handle> handle) : handle_(std::move(handle)) {
    link_type_ = pcap_datalink(handle_->pcap);
    nanoseconds_ = pcap_get_tstamp_precision(handle_->pcap) == PCAP_TSTAMP_PRECISION_NANO;
}

PcapSource::~PcapSource() = default;

std::unique_ptr<PcapSource> PcapSource::open_file(const std::string& path, std::string& error) {
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    auto handle = std::make_unique<Handle>();
    handle->pcap = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (handle->pcap == nullptr) {
        error = errbuf;
        return nullptr;
    }
    auto source = std::unique_ptr<PcapSource>(new PcapSource(std::move(handle)));
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) source->file_size_ = static_cast<std::uint64_t>(st.st_size);
    return source;
}

std::unique_ptr<PcapSource> PcapSource::open_live(const std::string& interface, const std::string& filter,
                                                  std::string& error) {
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    auto handle = std::make_unique<Handle>();
    handle->pcap = pcap_create(interface.c_str(), errbuf);
    if (handle->pcap == nullptr) {
        error = errbuf;
        return nullptr;
    }
    pcap_t* p = handle->pcap;
    pcap_set_snaplen(p, 65535);
    pcap_set_promisc(p, 1);
    pcap_set_timeout(p, 100);  // wake up at least every 100 ms to refresh the summary and see SIGINT
    pcap_set_buffer_size(p, 16 * 1024 * 1024);
    pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO);  // best effort: micro when refused
    if (const int rc = pcap_activate(p); rc < 0) {
        error = std::string(pcap_statustostr(rc)) + ": " + pcap_geterr(p);
        return nullptr;
    }
    if (!filter.empty()) {
        bpf_program program{};
        if (pcap_compile(p, &program, filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
            error = std::string("filter: ") + pcap_geterr(p);
            return nullptr;
        }
        const int rc = pcap_setfilter(p, &program);
        pcap_freecode(&program);
        if (rc != 0) {
            error = std::string("filter: ") + pcap_geterr(p);
            return nullptr;
        }
    }
    // Non-blocking reads plus our own poll(): libpcap's read timeout does not fire on an idle interface with
    // TPACKET_V3, and the live loop must wake up to refresh its summary and notice SIGINT.
    if (pcap_setnonblock(p, 1, errbuf) != 0) {
        error = errbuf;
        return nullptr;
    }
    auto source = std::unique_ptr<PcapSource>(new PcapSource(std::move(handle)));
    source->live_fd_ = pcap_get_selectable_fd(p);
    return source;
}

std::string PcapSource::link_type_name(int link_type) {
    const char* name = pcap_datalink_val_to_name(link_type);
    return name != nullptr ? name : "DLT " + std::to_string(link_type);
}

PcapSource::Next PcapSource::next(std::int64_t& time_ns, Bytes& frame) {
    pcap_pkthdr* header = nullptr;
    const u_char* data = nullptr;
    const int rc = pcap_next_ex(handle_->pcap, &header, &data);
    if (rc == 1) {
        const std::int64_t fraction =
            nanoseconds_ ? header->ts.tv_usec : std::int64_t{header->ts.tv_usec} * 1000;
        time_ns = std::int64_t{header->ts.tv_sec} * 1'000'000'000 + fraction;
        frame = Bytes(data, header->caplen);
        return Next::frame;
    }
    if (rc == 0) {
        if (live_fd_ >= 0) {
            pollfd fd{live_fd_, POLLIN, 0};
            ::poll(&fd, 1, 100);  // EINTR (SIGINT) simply returns early
        }
        return Next::timeout;
    }
    if (rc == PCAP_ERROR_BREAK) return Next::end;
    return Next::error;
}

std::string PcapSource::error() const {
    return pcap_geterr(handle_->pcap);
}

std::optional<std::pair<std::uint64_t, std::uint64_t>> PcapSource::file_progress() const {
    FILE* f = pcap_file(handle_->pcap);
    if (f == nullptr || file_size_ == 0) return std::nullopt;
    const long at = std::ftell(f);
    if (at < 0) return std::nullopt;
    return std::make_pair(static_cast<std::uint64_t>(at), file_size_);
}

std::optional<std::uint64_t> PcapSource::kernel_drops() const {
    pcap_stat st{};
    if (pcap_file(handle_->pcap) != nullptr || pcap_stats(handle_->pcap, &st) != 0) return std::nullopt;
    return std::uint64_t{st.ps_drop} + st.ps_ifdrop;
}

}  // namespace sg::detect
