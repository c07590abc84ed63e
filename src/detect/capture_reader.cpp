#include "detect/capture_reader.hpp"

#include <algorithm>

#include "detect/packet_decoder.hpp"

namespace sg::detect {
namespace {

constexpr std::uint32_t k_pcap_magic_us = 0xa1b2c3d4;
constexpr std::uint32_t k_pcap_magic_ns = 0xa1b23c4d;
constexpr std::size_t k_pcap_file_header = 24;
constexpr std::size_t k_pcap_record_header = 16;

constexpr std::uint32_t k_block_shb = 0x0a0d0d0a;
constexpr std::uint32_t k_block_idb = 0x00000001;
constexpr std::uint32_t k_block_packet = 0x00000002;  // obsolete Packet Block
constexpr std::uint32_t k_block_spb = 0x00000003;
constexpr std::uint32_t k_block_epb = 0x00000006;
constexpr std::uint32_t k_byte_order_magic = 0x1a2b3c4d;
constexpr std::size_t k_block_overhead = 12;  // type, total length, trailing total length

constexpr std::uint16_t k_opt_end = 0;
constexpr std::uint16_t k_opt_if_tsresol = 9;
constexpr std::uint16_t k_opt_if_tsoffset = 14;

// libpcap's largest snapshot length for the link types detect decodes; a record announcing more is
// damage, one announcing more than its file's snapshot is cut to it, as libpcap does.
constexpr std::uint32_t k_max_snaplen = 262144;
constexpr std::uint32_t k_linktype_mask = 0x03ffffff;  // the upper bits carry FCS information
constexpr std::int64_t k_ns_per_s = 1'000'000'000;
constexpr std::size_t k_prefetch_distance = 4096;

std::uint32_t effective_snaplen(std::uint32_t snaplen) noexcept {
    return snaplen == 0 || snaplen > k_max_snaplen ? k_max_snaplen : snaplen;
}

std::uint32_t load_le32(const std::uint8_t* p) noexcept {
    return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 |
           std::uint32_t{p[3]} << 24;
}

std::uint32_t load_be32(const std::uint8_t* p) noexcept {
    return std::uint32_t{p[3]} | std::uint32_t{p[2]} << 8 | std::uint32_t{p[1]} << 16 |
           std::uint32_t{p[0]} << 24;
}

std::size_t pad4(std::size_t n) noexcept {
    return (n + 3) & ~std::size_t{3};
}

}  // namespace

int dlt_from_linktype(std::uint32_t linktype) noexcept {
    linktype &= k_linktype_mask;
    if (linktype == static_cast<std::uint32_t>(dlt::linktype_raw)) return dlt::raw;
    return linktype > 0x7fffffff ? -1 : static_cast<int>(linktype);
}

std::uint16_t CaptureReader::u16(const std::uint8_t* p) const noexcept {
    return big_endian_ ? static_cast<std::uint16_t>(p[0] << 8 | p[1])
                       : static_cast<std::uint16_t>(p[1] << 8 | p[0]);
}

std::uint32_t CaptureReader::u32(const std::uint8_t* p) const noexcept {
    return big_endian_ ? load_be32(p) : load_le32(p);
}

CaptureReader::Next CaptureReader::fail(std::string message) {
    error_ = std::move(message) + " at offset " + std::to_string(at_);
    return Next::error;
}

bool CaptureReader::open(Bytes file, std::string& error) {
    file_ = file;
    at_ = 0;
    error_.clear();
    interfaces_.clear();
    first_link_type_ = -1;
    if (file.size() >= 4 && load_le32(file.data()) == k_block_shb) {
        format_ = Format::pcapng;
        // Read blocks up to the first interface, so its link type is known before any frame.
        CaptureRecord unused;
        if (next_pcapng(unused, true) == Next::error) {
            error = error_;
            return false;
        }
        return true;
    }
    if (file.size() < k_pcap_file_header) {
        error = "not a pcap or pcapng file (too short)";
        return false;
    }
    const std::uint32_t le = load_le32(file.data());
    const std::uint32_t be = load_be32(file.data());
    if (le == k_pcap_magic_us || le == k_pcap_magic_ns) {
        big_endian_ = false;
        nanoseconds_ = le == k_pcap_magic_ns;
    } else if (be == k_pcap_magic_us || be == k_pcap_magic_ns) {
        big_endian_ = true;
        nanoseconds_ = be == k_pcap_magic_ns;
    } else {
        error = "not a pcap or pcapng file (unknown magic number)";
        return false;
    }
    format_ = Format::pcap;
    const std::uint16_t major = u16(file.data() + 4);
    if (major != 2) {
        error = "pcap version " + std::to_string(major) + " is not supported";
        return false;
    }
    Interface only;
    only.snaplen = effective_snaplen(u32(file.data() + 16));
    only.link_type = dlt_from_linktype(u32(file.data() + 20));
    only.units_per_second = nanoseconds_ ? 1'000'000'000 : 1'000'000;
    interfaces_.push_back(only);
    first_link_type_ = only.link_type;
    at_ = k_pcap_file_header;
    return true;
}

CaptureReader::Next CaptureReader::next(CaptureRecord& out) {
    if (!error_.empty()) return Next::error;
    return format_ == Format::pcap ? next_pcap(out) : next_pcapng(out, false);
}

CaptureReader::Next CaptureReader::next_pcap(CaptureRecord& out) {
    const std::size_t left = file_.size() - at_;
    if (left == 0) return Next::end;
    if (left < k_pcap_record_header) return fail("truncated record header");
    const std::uint8_t* h = file_.data() + at_;
    const std::uint32_t seconds = u32(h);
    const std::uint32_t fraction = u32(h + 4);
    const std::uint32_t caplen = u32(h + 8);
    if (caplen > k_max_snaplen) return fail("record length " + std::to_string(caplen) + " is too large");
    if (caplen > left - k_pcap_record_header) return fail("truncated record");
    // Records are read front to back but the hardware prefetcher stops at page boundaries: ask for the
    // bytes a few records ahead (a hint only; nothing reads them before their length is checked).
    if (left > k_prefetch_distance) __builtin_prefetch(h + k_prefetch_distance);
    const Interface& i = interfaces_.front();
    out.link_type = i.link_type;
    out.time_ns = std::int64_t{seconds} * k_ns_per_s +
                  (nanoseconds_ ? std::int64_t{fraction} : std::int64_t{fraction} * 1000);
    out.frame = Bytes(h + k_pcap_record_header, caplen < i.snaplen ? caplen : i.snaplen);
    at_ += k_pcap_record_header + caplen;
    return Next::frame;
}

std::int64_t CaptureReader::ticks_to_ns(const Interface& i, std::uint64_t ticks) const noexcept {
    const std::uint64_t units = i.units_per_second;
    const std::uint64_t seconds = ticks / units;
    const std::uint64_t fraction = ticks % units;
    constexpr auto ns_per_s = static_cast<std::uint64_t>(k_ns_per_s);
    std::uint64_t ns = 0;
    if (units <= ns_per_s)
        ns = fraction * ns_per_s / units;  // fraction < units <= 1e9: no overflow
    else if (units % ns_per_s == 0)
        ns = fraction / (units / ns_per_s);  // finer decimal resolutions: truncated, as libpcap does
    else
        ns = static_cast<std::uint64_t>(static_cast<long double>(fraction) * 1e9L /
                                        static_cast<long double>(units));
    // Unsigned, so absurd times (a 64-bit tick count, a huge if_tsoffset) wrap instead of overflowing.
    return static_cast<std::int64_t>((seconds + static_cast<std::uint64_t>(i.offset_s)) * ns_per_s + ns);
}

bool CaptureReader::read_section_header(Bytes block) {
    // block: the whole block; the byte-order magic decides how this section (this block included) reads.
    if (block.size() < 28) return false;
    const std::uint32_t magic = load_le32(block.data() + 8);
    if (magic == k_byte_order_magic)
        big_endian_ = false;
    else if (load_be32(block.data() + 8) == k_byte_order_magic)
        big_endian_ = true;
    else
        return false;
    if (u16(block.data() + 12) != 1) return false;  // major version
    interfaces_.clear();
    return true;
}

bool CaptureReader::read_interface(Bytes block) {
    // type, length, link type (16), reserved (16), snaplen (32), options, trailing length
    if (block.size() < 20) return false;
    Interface i;
    i.link_type = dlt_from_linktype(u16(block.data() + 8));
    i.snaplen = effective_snaplen(u32(block.data() + 12));
    std::size_t at = 16;
    const std::size_t end = block.size() - 4;
    while (at + 4 <= end) {
        const std::uint16_t code = u16(block.data() + at);
        const std::uint16_t length = u16(block.data() + at + 2);
        at += 4;
        if (code == k_opt_end) break;
        if (length > end - at) return false;
        const std::uint8_t* value = block.data() + at;
        if (code == k_opt_if_tsresol && length >= 1) {
            const unsigned exponent = value[0] & 0x7f;
            const bool binary = (value[0] & 0x80) != 0;
            if (binary ? exponent > 63 : exponent > 19) return false;
            std::uint64_t units = 1;
            for (unsigned k = 0; k < exponent; ++k)
                units *= binary ? 2 : 10;
            i.units_per_second = units;
        } else if (code == k_opt_if_tsoffset && length >= 8) {
            const std::uint64_t hi = u32(value);
            const std::uint64_t lo = u32(value + 4);
            const std::uint64_t v = big_endian_ ? (hi << 32 | lo) : (lo << 32 | hi);
            i.offset_s = static_cast<std::int64_t>(v);
        }
        at += pad4(length);
    }
    if (first_link_type_ < 0) first_link_type_ = i.link_type;
    interfaces_.push_back(i);
    return true;
}

CaptureReader::Next CaptureReader::next_pcapng(CaptureRecord& out, bool until_first_interface) {
    while (true) {
        if (until_first_interface && first_link_type_ >= 0) return Next::end;
        const std::size_t left = file_.size() - at_;
        if (left == 0) return Next::end;
        if (left < k_block_overhead) return fail("truncated block header");
        const std::uint8_t* b = file_.data() + at_;
        const std::uint32_t type = load_le32(b) == k_block_shb ? k_block_shb : u32(b);
        if (until_first_interface && (type == k_block_epb || type == k_block_spb || type == k_block_packet))
            return Next::end;  // left for next()
        if (type == k_block_shb) {
            // The section's byte order is known only from its own magic, so read the length after it.
            if (left < 28) return fail("truncated section header");
            const bool saved = big_endian_;
            if (!read_section_header(Bytes(b, 28))) {
                big_endian_ = saved;
                return fail("bad section header");
            }
        }
        const std::uint32_t total = u32(b + 4);
        if (total < k_block_overhead || total % 4 != 0 || total > left) return fail("bad block length");
        if (u32(b + total - 4) != total) return fail("block lengths disagree");
        const Bytes block(b, total);
        at_ += total;
        switch (type) {
            case k_block_shb:
                continue;
            case k_block_idb:
                if (!read_interface(block)) {
                    at_ -= total;
                    return fail("bad interface description");
                }
                continue;
            case k_block_epb:
            case k_block_packet: {
                // EPB: interface (32); obsolete Packet Block: interface (16), drops (16); then time high,
                // time low, captured length, original length, data.
                if (total < k_block_overhead + 20) {
                    at_ -= total;
                    return fail("truncated packet block");
                }
                const std::uint32_t id = type == k_block_epb ? u32(b + 8) : u16(b + 8);
                const std::uint64_t ticks = std::uint64_t{u32(b + 12)} << 32 | u32(b + 16);
                const std::uint32_t caplen = u32(b + 20);
                if (id >= interfaces_.size()) {
                    at_ -= total;
                    return fail("packet of an undescribed interface");
                }
                if (caplen > total - k_block_overhead - 20) {
                    at_ -= total;
                    return fail("packet longer than its block");
                }
                const Interface& i = interfaces_[id];
                out.link_type = i.link_type;
                out.time_ns = ticks_to_ns(i, ticks);
                out.frame = Bytes(b + 28, caplen < i.snaplen ? caplen : i.snaplen);
                return Next::frame;
            }
            case k_block_spb: {
                if (total < k_block_overhead + 4) {
                    at_ -= total;
                    return fail("truncated simple packet block");
                }
                if (interfaces_.empty()) {
                    at_ -= total;
                    return fail("packet of an undescribed interface");
                }
                const Interface& i = interfaces_.front();
                std::size_t caplen = u32(b + 8);
                caplen = std::min<std::size_t>({caplen, total - k_block_overhead - 4, i.snaplen});
                out.link_type = i.link_type;
                out.time_ns = 0;  // a Simple Packet Block has no time
                out.frame = Bytes(b + 12, caplen);
                return Next::frame;
            }
            default:
                continue;  // name resolution, statistics, custom blocks...: nothing detect needs
        }
    }
}

}  // namespace sg::detect
