#pragma once
// Call recordings as pcap files (libpcap, link type RAW: each record an IPv4 or IPv6 packet), one file per
// recording in the recording directory, named `<call-id>-<unix time>.pcap`: characters outside
// [A-Za-z0-9._-] in the Call-ID replaced by '_', the Call-ID cut to 128 bytes. When that name is taken
// (another call with the same name, a call recorded again in the same second) the file is
// `<call-id>-<unix time>-<n>.pcap`, n from 2: an existing file is never opened. Mode 0640 (call audio).
// tshark reads them (`-d udp.port==N,rtp` or its rtp_udp heuristic) and so does `streamgate detect`.

#include <pcap/pcap.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "relay/call_table.hpp"

namespace sg::relay_io {

class PcapRecorder : public relay::CallRecorder {
public:
    explicit PcapRecorder(std::filesystem::path directory);
    ~PcapRecorder() override;
    PcapRecorder(const PcapRecorder&) = delete;
    PcapRecorder& operator=(const PcapRecorder&) = delete;

    bool start(const std::string& call_id, std::int64_t wall_now) override;
    void record(const std::string& call_id, const relay::Address& from, const relay::Address& to,
                Bytes packet) override;
    void stop(const std::string& call_id) override;

    // The file a call's recording is written to when `attempt - 1` names were taken already.
    std::filesystem::path path_for(const std::string& call_id, std::int64_t wall_now, int attempt = 1) const;

private:
    struct Closer {
        void operator()(pcap_t* p) const { pcap_close(p); }
        void operator()(pcap_dumper_t* d) const { pcap_dump_close(d); }
    };
    std::filesystem::path directory_;
    std::unique_ptr<pcap_t, Closer> dead_;  // the link type and snap length the dump files carry
    std::map<std::string, std::unique_ptr<pcap_dumper_t, Closer>, std::less<>> open_;
    std::vector<std::uint8_t> scratch_;
};

}  // namespace sg::relay_io
