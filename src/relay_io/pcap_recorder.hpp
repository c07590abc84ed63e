#pragma once
// Call recordings as pcap files (libpcap, link type RAW: each record an IPv4 or IPv6 packet), one file per
// recorded call in the recording directory: `<call-id>-<unix time>.pcap`, with characters outside
// [A-Za-z0-9._-] in the Call-ID replaced by '_'. tshark reads them (`-d udp.port==N,rtp` or its rtp_udp
// heuristic) and so does `streamgate detect`.

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

    // The file a call's recording is written to, for the log line and tests.
    std::filesystem::path path_for(const std::string& call_id, std::int64_t wall_now) const;

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
