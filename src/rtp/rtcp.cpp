#include "rtp/rtcp.hpp"

#include <algorithm>
#include <limits>

namespace sg::rtp {

namespace {

constexpr std::uint8_t k_version_bits = 2u << 6;
constexpr std::size_t k_max_packet_size = (std::size_t{0xffff} + 1) * 4;  // length field is words - 1
constexpr std::size_t k_sender_info_size = 20;
constexpr std::int64_t k_ntp_unix_offset = 2208988800;  // seconds from 1900-01-01 to 1970-01-01

constexpr std::size_t round_up4(std::size_t n) noexcept {
    return (n + 3) & ~std::size_t{3};
}

// The layout of one SDES chunk at the start of `b`: SSRC, items, one or more null octets up to the next
// 32-bit boundary (§6.5). The content of the pad octets after the first null is not checked.
struct ChunkExtent {
    std::size_t items_size = 0;  // octets of items, after the SSRC, before the terminating null
    std::size_t total = 0;       // octets of the whole chunk, padding included
    std::string_view error;      // empty when the chunk is well formed
};

ChunkExtent scan_chunk(Bytes b) noexcept {
    ChunkExtent extent;
    if (b.size() < 4) {
        extent.error = "SDES chunk truncated";
        return extent;
    }
    std::size_t pos = 4;
    while (true) {
        if (pos >= b.size()) {
            extent.error = "SDES chunk not null-terminated";
            return extent;
        }
        if (b[pos] == 0) break;
        if (b.size() - pos < 2 || b.size() - pos - 2 < b[pos + 1]) {
            extent.error = "SDES item exceeds the packet";
            return extent;
        }
        pos += 2 + std::size_t{b[pos + 1]};
    }
    extent.items_size = pos - 4;
    extent.total = round_up4(pos + 1);
    if (extent.total > b.size()) extent.error = "SDES chunk padding truncated";
    return extent;
}

std::string_view as_text(Bytes b) noexcept {
    return std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
}

Bytes as_bytes(std::string_view s) noexcept {
    return Bytes(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

void put_header(ByteWriter& w, std::uint8_t count, RtcpType type, std::size_t total_size) {
    w.put_u8(static_cast<std::uint8_t>(k_version_bits | count));
    w.put_u8(static_cast<std::uint8_t>(type));
    w.put_u16(static_cast<std::uint16_t>(total_size / 4 - 1));
}

void put_report_block(ByteWriter& w, const ReportBlock& block) {
    const std::int32_t lost = std::clamp(block.cumulative_lost, k_min_cumulative_lost, k_max_cumulative_lost);
    w.put_u32(block.ssrc);
    w.put_u8(block.fraction_lost);
    w.put_u24(static_cast<std::uint32_t>(lost) & 0xffffffu);
    w.put_u32(block.highest_sequence);
    w.put_u32(block.jitter);
    w.put_u32(block.last_sr);
    w.put_u32(block.delay_since_last_sr);
}

Result<std::size_t> check_reports(std::span<const ReportBlock> reports, Bytes profile_extension,
                                  std::size_t fixed_size) {
    if (reports.size() > k_max_report_blocks) return fail("more than 31 report blocks");
    if (profile_extension.size() % 4 != 0) return fail("profile extension not a whole number of words");
    const std::size_t total = fixed_size + k_report_block_size * reports.size() + profile_extension.size();
    if (total > k_max_packet_size) return fail("RTCP packet too long");
    return total;
}

}  // namespace

Result<RtcpCompound> parse_compound(Bytes datagram) noexcept {
    if (datagram.empty()) return fail("empty RTCP datagram");
    RtcpCompound compound;
    ByteReader reader(datagram);
    while (!reader.empty()) {
        if (compound.size_ == k_max_compound_packets) return fail("too many packets in the RTCP compound");
        const Bytes rest = reader.rest();
        std::uint8_t first = 0;
        std::uint8_t type = 0;
        std::uint16_t length = 0;
        if (!reader.read_u8(first) || !reader.read_u8(type) || !reader.read_u16(length)) {
            return fail("RTCP header truncated");
        }
        if ((first >> 6) != 2) return fail("RTCP version is not 2");
        const std::size_t total = (std::size_t{length} + 1) * 4;
        if (total > rest.size()) return fail("RTCP length exceeds the datagram");
        reader.skip(total - k_rtcp_header_size);

        RtcpPacket& packet = compound.packets_[compound.size_++];
        packet.padding = (first & 0x20) != 0;
        packet.count = first & 0x1f;
        packet.type = static_cast<RtcpType>(type);
        packet.data = rest.first(total);
        packet.body = packet.data.subspan(k_rtcp_header_size);
        if (packet.padding) {
            const std::size_t padding = packet.data.back();
            if (padding == 0) return fail("RTCP padding count is zero");
            if (padding > packet.body.size()) return fail("RTCP padding exceeds the packet");
            packet.body = packet.body.first(packet.body.size() - padding);
        }
    }
    return compound;
}

Result<RtcpCompound> validate_compound(Bytes datagram) noexcept {
    auto compound = parse_compound(datagram);
    if (!compound) return compound;
    const RtcpType first = (*compound)[0].type;
    if (first != RtcpType::sr && first != RtcpType::rr) return fail("first RTCP packet is not SR or RR");
    for (std::size_t i = 0; i + 1 < compound->size(); ++i) {
        if ((*compound)[i].padding) return fail("RTCP padding bit set before the last packet");
    }
    return compound;
}

ReportBlock ReportBlockList::operator[](std::size_t i) const noexcept {
    ReportBlock block;
    if (i >= size()) return block;
    const std::uint8_t* p = raw_.data() + i * k_report_block_size;
    block.ssrc = load_be32(p);
    block.fraction_lost = p[4];
    // Sign-extend the 24-bit two's complement field without relying on shifts of negative values.
    block.cumulative_lost = static_cast<std::int32_t>(load_be24(p + 5) ^ 0x800000u) - 0x800000;
    block.highest_sequence = load_be32(p + 8);
    block.jitter = load_be32(p + 12);
    block.last_sr = load_be32(p + 16);
    block.delay_since_last_sr = load_be32(p + 20);
    return block;
}

Result<SenderReportView> parse_sender_report(const RtcpPacket& packet) noexcept {
    if (packet.type != RtcpType::sr) return fail("not an RTCP SR");
    ByteReader r(packet.body);
    SenderReportView sr;
    std::uint32_t ntp_high = 0;
    std::uint32_t ntp_low = 0;
    if (!r.read_u32(sr.ssrc) || !r.read_u32(ntp_high) || !r.read_u32(ntp_low) ||
        !r.read_u32(sr.sender.rtp_timestamp) || !r.read_u32(sr.sender.packet_count) ||
        !r.read_u32(sr.sender.octet_count)) {
        return fail("RTCP SR sender info truncated");
    }
    sr.sender.ntp_timestamp = (std::uint64_t{ntp_high} << 32) | ntp_low;
    Bytes blocks;
    if (!r.read_bytes(k_report_block_size * packet.count, blocks))
        return fail("RTCP SR report blocks truncated");
    sr.reports = ReportBlockList(blocks);
    sr.profile_extension = r.rest();
    return sr;
}

Result<ReceiverReportView> parse_receiver_report(const RtcpPacket& packet) noexcept {
    if (packet.type != RtcpType::rr) return fail("not an RTCP RR");
    ByteReader r(packet.body);
    ReceiverReportView rr;
    if (!r.read_u32(rr.ssrc)) return fail("RTCP RR SSRC truncated");
    Bytes blocks;
    if (!r.read_bytes(k_report_block_size * packet.count, blocks))
        return fail("RTCP RR report blocks truncated");
    rr.reports = ReportBlockList(blocks);
    rr.profile_extension = r.rest();
    return rr;
}

SdesItem SdesChunk::Iterator::operator*() const noexcept {
    if (rest_.size() < 2) return SdesItem{};
    const std::size_t length = std::min<std::size_t>(rest_[1], rest_.size() - 2);
    return SdesItem{static_cast<SdesType>(rest_[0]), as_text(rest_.subspan(2, length))};
}

SdesChunk::Iterator& SdesChunk::Iterator::operator++() noexcept {
    const std::size_t step = rest_.size() < 2 ? rest_.size() : 2 + std::size_t{rest_[1]};
    rest_ = rest_.subspan(std::min(step, rest_.size()));
    return *this;
}

std::optional<std::string_view> SdesChunk::find(SdesType type) const noexcept {
    for (const SdesItem item : *this) {
        if (item.type == type) return item.text;
    }
    return std::nullopt;
}

SdesChunk SdesView::Iterator::operator*() const noexcept {
    const ChunkExtent extent = scan_chunk(rest_);
    if (!extent.error.empty()) return SdesChunk{};
    return SdesChunk(load_be32(rest_.data()), rest_.subspan(4, extent.items_size));
}

SdesView::Iterator& SdesView::Iterator::operator++() noexcept {
    const ChunkExtent extent = scan_chunk(rest_);
    rest_ = rest_.subspan(extent.error.empty() ? extent.total : rest_.size());
    return *this;
}

Result<SdesView> parse_sdes(const RtcpPacket& packet) noexcept {
    if (packet.type != RtcpType::sdes) return fail("not an RTCP SDES");
    Bytes rest = packet.body;
    for (std::size_t i = 0; i < packet.count; ++i) {
        const ChunkExtent extent = scan_chunk(rest);
        if (!extent.error.empty()) return fail(extent.error);
        rest = rest.subspan(extent.total);
    }
    if (!rest.empty()) return fail("RTCP SDES has data after its chunks");
    SdesView view;
    view.chunks_ = packet.body;
    view.chunk_count_ = packet.count;
    return view;
}

std::uint32_t ByeView::source(std::size_t i) const noexcept {
    if (i >= source_count()) return 0;
    return load_be32(sources.data() + 4 * i);
}

Result<ByeView> parse_bye(const RtcpPacket& packet) noexcept {
    if (packet.type != RtcpType::bye) return fail("not an RTCP BYE");
    ByteReader r(packet.body);
    ByeView bye;
    if (!r.read_bytes(4 * std::size_t{packet.count}, bye.sources))
        return fail("RTCP BYE source list truncated");
    if (r.empty()) return bye;
    std::uint8_t length = 0;
    Bytes reason;
    r.read_u8(length);
    if (!r.read_bytes(length, reason)) return fail("RTCP BYE reason exceeds the packet");
    // Only the null padding up to the next 32-bit boundary may follow (its content is not checked).
    if (r.remaining() > 3) return fail("RTCP BYE has data after its reason");
    bye.reason = as_text(reason);
    return bye;
}

Result<AppView> parse_app(const RtcpPacket& packet) noexcept {
    if (packet.type != RtcpType::app) return fail("not an RTCP APP");
    ByteReader r(packet.body);
    AppView app;
    Bytes name;
    if (!r.read_u32(app.ssrc) || !r.read_bytes(4, name)) return fail("RTCP APP header truncated");
    if (r.remaining() % 4 != 0) return fail("RTCP APP data not a whole number of words");
    app.subtype = packet.count;
    app.name = as_text(name);
    app.data = r.rest();
    return app;
}

Result<std::size_t> append_sender_report(std::vector<std::uint8_t>& out, std::uint32_t ssrc,
                                         const SenderInfo& sender, std::span<const ReportBlock> reports,
                                         Bytes profile_extension) {
    const auto total = check_reports(reports, profile_extension, k_rtcp_header_size + 4 + k_sender_info_size);
    if (!total) return total;
    ByteWriter w(out);
    put_header(w, static_cast<std::uint8_t>(reports.size()), RtcpType::sr, *total);
    w.put_u32(ssrc);
    w.put_u32(static_cast<std::uint32_t>(sender.ntp_timestamp >> 32));
    w.put_u32(static_cast<std::uint32_t>(sender.ntp_timestamp));
    w.put_u32(sender.rtp_timestamp);
    w.put_u32(sender.packet_count);
    w.put_u32(sender.octet_count);
    for (const ReportBlock& block : reports)
        put_report_block(w, block);
    w.put_bytes(profile_extension);
    return total;
}

Result<std::size_t> append_receiver_report(std::vector<std::uint8_t>& out, std::uint32_t ssrc,
                                           std::span<const ReportBlock> reports, Bytes profile_extension) {
    const auto total = check_reports(reports, profile_extension, k_rtcp_header_size + 4);
    if (!total) return total;
    ByteWriter w(out);
    put_header(w, static_cast<std::uint8_t>(reports.size()), RtcpType::rr, *total);
    w.put_u32(ssrc);
    for (const ReportBlock& block : reports)
        put_report_block(w, block);
    w.put_bytes(profile_extension);
    return total;
}

Result<std::size_t> append_sdes(std::vector<std::uint8_t>& out, std::span<const SdesChunkSpec> chunks) {
    if (chunks.size() > k_max_sdes_chunks) return fail("more than 31 SDES chunks");
    std::size_t total = k_rtcp_header_size;
    for (const SdesChunkSpec& chunk : chunks) {
        std::size_t items = 0;
        for (const SdesItem& item : chunk.items) {
            if (item.type == SdesType::end) return fail("SDES item of type END");
            if (item.text.size() > 255) return fail("SDES item longer than 255 octets");
            items += 2 + item.text.size();
        }
        total += round_up4(4 + items + 1);
        if (total > k_max_packet_size) return fail("RTCP packet too long");
    }
    ByteWriter w(out);
    put_header(w, static_cast<std::uint8_t>(chunks.size()), RtcpType::sdes, total);
    for (const SdesChunkSpec& chunk : chunks) {
        w.put_u32(chunk.ssrc);
        std::size_t items = 0;
        for (const SdesItem& item : chunk.items) {
            w.put_u8(static_cast<std::uint8_t>(item.type));
            w.put_u8(static_cast<std::uint8_t>(item.text.size()));
            w.put_bytes(as_bytes(item.text));
            items += 2 + item.text.size();
        }
        // At least one null ends the item list; more pad the chunk to a 32-bit boundary.
        out.insert(out.end(), round_up4(4 + items + 1) - 4 - items, std::uint8_t{0});
    }
    return total;
}

Result<std::size_t> append_sdes_cname(std::vector<std::uint8_t>& out, std::uint32_t ssrc,
                                      std::string_view cname) {
    const SdesItem item{SdesType::cname, cname};
    const SdesChunkSpec chunk{ssrc, std::span<const SdesItem>(&item, 1)};
    return append_sdes(out, std::span<const SdesChunkSpec>(&chunk, 1));
}

Result<std::size_t> append_bye(std::vector<std::uint8_t>& out, std::span<const std::uint32_t> sources,
                               std::optional<std::string_view> reason) {
    if (sources.size() > k_max_bye_sources) return fail("more than 31 BYE sources");
    if (reason && reason->size() > 255) return fail("BYE reason longer than 255 octets");
    const std::size_t reason_size = reason ? round_up4(1 + reason->size()) : 0;
    const std::size_t total = k_rtcp_header_size + 4 * sources.size() + reason_size;
    ByteWriter w(out);
    put_header(w, static_cast<std::uint8_t>(sources.size()), RtcpType::bye, total);
    for (const std::uint32_t ssrc : sources)
        w.put_u32(ssrc);
    if (reason) {
        w.put_u8(static_cast<std::uint8_t>(reason->size()));
        w.put_bytes(as_bytes(*reason));
        out.insert(out.end(), reason_size - 1 - reason->size(), std::uint8_t{0});
    }
    return total;
}

Result<std::size_t> append_app(std::vector<std::uint8_t>& out, std::uint8_t subtype, std::uint32_t ssrc,
                               std::string_view name, Bytes data) {
    if (subtype > 31) return fail("APP subtype exceeds 31");
    if (name.size() != 4) return fail("APP name is not 4 octets");
    if (data.size() % 4 != 0) return fail("APP data not a whole number of words");
    const std::size_t total = k_rtcp_header_size + 8 + data.size();
    if (total > k_max_packet_size) return fail("RTCP packet too long");
    ByteWriter w(out);
    put_header(w, subtype, RtcpType::app, total);
    w.put_u32(ssrc);
    w.put_bytes(as_bytes(name));
    w.put_bytes(data);
    return total;
}

std::uint64_t to_ntp(std::chrono::system_clock::time_point time) noexcept {
    using namespace std::chrono;
    const auto since_epoch = duration_cast<nanoseconds>(time.time_since_epoch());
    const auto seconds = floor<std::chrono::seconds>(since_epoch);
    const auto fraction_ns = static_cast<std::uint64_t>((since_epoch - seconds).count());  // [0, 1e9)
    // Seconds wrap modulo 2^32 (NTP eras), which the unsigned conversion does.
    const auto ntp_seconds =
        static_cast<std::uint32_t>(static_cast<std::uint64_t>(seconds.count() + k_ntp_unix_offset));
    const std::uint64_t fraction = (fraction_ns << 32) / 1'000'000'000u;
    return (std::uint64_t{ntp_seconds} << 32) | fraction;
}

std::chrono::system_clock::time_point from_ntp(std::uint64_t ntp) noexcept {
    using namespace std::chrono;
    const std::uint64_t ntp_seconds = ntp >> 32;
    const std::uint64_t fraction = ntp & 0xffffffffu;
    const std::int64_t era_offset = (ntp_seconds & 0x80000000u) != 0 ? 0 : (std::int64_t{1} << 32);
    const std::int64_t unix_seconds = static_cast<std::int64_t>(ntp_seconds) + era_offset - k_ntp_unix_offset;
    // Round to nearest so that from_ntp(to_ntp(t)) == t at nanosecond resolution.
    const auto ns = static_cast<std::int64_t>((fraction * 1'000'000'000u + (std::uint64_t{1} << 31)) >> 32);
    return system_clock::time_point(
        duration_cast<system_clock::duration>(seconds(unix_seconds) + nanoseconds(ns)));
}

std::uint32_t to_dlsr(std::chrono::nanoseconds delay) noexcept {
    const std::int64_t ns = delay.count();
    if (ns <= 0) return 0;
    const std::int64_t seconds = ns / 1'000'000'000;
    if (seconds >= 65536) return std::numeric_limits<std::uint32_t>::max();
    const std::int64_t units = seconds * 65536 + (ns % 1'000'000'000) * 65536 / 1'000'000'000;
    return static_cast<std::uint32_t>(units);
}

std::optional<std::uint32_t> round_trip_time(std::uint32_t arrival_middle32, std::uint32_t last_sr,
                                             std::uint32_t delay_since_last_sr) noexcept {
    if (last_sr == 0) return std::nullopt;
    const std::uint32_t elapsed = arrival_middle32 - last_sr;  // modulo 2^32, like the field itself
    if (delay_since_last_sr > elapsed) return std::nullopt;
    return elapsed - delay_since_last_sr;
}

}  // namespace sg::rtp
