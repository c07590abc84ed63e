#pragma once
// Frames from a whole capture file held in memory (an mmap): classic pcap (either byte order, micro- or
// nanosecond timestamps) and pcapng (Section Header, Interface Description, Enhanced, Simple and obsolete
// Packet blocks; every section's own byte order; per-interface link type, if_tsresol and if_tsoffset).
// `streamgate detect -r` reads files through it instead of calling libpcap once per packet.
//
// Pure code: no I/O, no allocation per record (the interface table grows only at an IDB), every length
// checked once before use, every field read explicitly in the section's byte order.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/byte_io.hpp"

namespace sg::detect {

struct CaptureRecord {
    int link_type = 0;  // DLT as libpcap reports it on Linux (LINKTYPE_RAW is reported as DLT_RAW)
    std::int64_t time_ns = 0;
    Bytes frame;  // a view into the file
};

class CaptureReader {
public:
    enum class Format : std::uint8_t { pcap, pcapng };
    enum class Next : std::uint8_t { frame, end, error };

    // False (with `error` set) when `file` does not start with a pcap or pcapng header this reader knows.
    bool open(Bytes file, std::string& error);

    // On `frame`, `out` is set. `error` means the file is damaged at offset(); what came before stands.
    Next next(CaptureRecord& out);

    Format format() const noexcept { return format_; }
    // The link type of the file (pcap) or of its first interface (pcapng; -1 until the first IDB is read,
    // which open() does when it comes before any packet, as it must).
    int first_link_type() const noexcept { return first_link_type_; }
    std::size_t offset() const noexcept { return at_; }
    std::size_t size() const noexcept { return file_.size(); }
    const std::string& error() const noexcept { return error_; }

private:
    struct Interface {
        int link_type = 0;
        std::uint32_t snaplen = 0;
        std::uint64_t units_per_second = 1'000'000;  // if_tsresol (default: microseconds)
        std::int64_t offset_s = 0;                   // if_tsoffset
    };

    Next fail(std::string message);
    Next next_pcap(CaptureRecord& out);
    Next next_pcapng(CaptureRecord& out, bool until_first_interface);
    bool read_section_header(Bytes block);
    bool read_interface(Bytes block);
    std::int64_t ticks_to_ns(const Interface& i, std::uint64_t ticks) const noexcept;
    std::uint16_t u16(const std::uint8_t* p) const noexcept;
    std::uint32_t u32(const std::uint8_t* p) const noexcept;

    Bytes file_;
    std::size_t at_ = 0;
    Format format_ = Format::pcap;
    bool big_endian_ = false;   // of the file (pcap) or of the current section (pcapng)
    bool nanoseconds_ = false;  // pcap only
    int first_link_type_ = -1;
    std::vector<Interface> interfaces_;  // pcapng: of the current section
    std::string error_;
};

// libpcap reports LINKTYPE_RAW (101) as DLT_RAW (12) on Linux; every other link type the detector decodes
// has the same number in files and in DLT_*.
int dlt_from_linktype(std::uint32_t linktype) noexcept;

}  // namespace sg::detect
