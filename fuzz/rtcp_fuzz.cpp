// libFuzzer target for RTCP compound packets. Splits the input (lenient and A.2-strict), decodes every
// SR/RR/SDES/BYE/APP it understands, rebuilds each with the builders, re-parses it and requires the same
// values. Packets without the P bit must rebuild (and, except SDES/BYE with non-null pad octets, rebuild
// to the same octets).

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "rtp/rtcp.hpp"

namespace {

using namespace sg::rtp;
using Buffer = std::vector<std::uint8_t>;

void check(bool property) {
    if (!property) __builtin_trap();
}

bool same(sg::Bytes a, sg::Bytes b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i] != b[i]) return false;
    }
    return true;
}

// The single packet a builder just appended at `from`.
RtcpPacket reparse(const Buffer& out, std::size_t from, RtcpType type) {
    const auto compound = parse_compound(sg::Bytes(out).subspan(from));
    check(compound.ok() && compound->size() == 1 && (*compound)[0].type == type);
    return (*compound)[0];
}

void check_reports(const ReportBlockList& a, const ReportBlockList& b) {
    check(a.size() == b.size());
    for (std::size_t i = 0; i <= a.size(); ++i)
        check(a[i] == b[i]);
}

void sender_report(const RtcpPacket& p, Buffer& out) {
    const auto sr = parse_sender_report(p);
    if (!sr) return;
    check(sr->reports.size() == p.count);
    std::array<ReportBlock, k_max_report_blocks> blocks{};
    for (std::size_t i = 0; i < sr->reports.size(); ++i)
        blocks[i] = sr->reports[i];
    const std::size_t from = out.size();
    const auto written = append_sender_report(out, sr->ssrc, sr->sender,
                                              std::span<const ReportBlock>(blocks).first(sr->reports.size()),
                                              sr->profile_extension);
    if (!written) {
        check(p.padding);
        return;
    }
    const auto again = parse_sender_report(reparse(out, from, RtcpType::sr));
    check(again.ok() && again->ssrc == sr->ssrc && again->sender == sr->sender &&
          same(again->profile_extension, sr->profile_extension));
    check_reports(again->reports, sr->reports);
    if (!p.padding) check(same(sg::Bytes(out).subspan(from), p.data));
}

void receiver_report(const RtcpPacket& p, Buffer& out) {
    const auto rr = parse_receiver_report(p);
    if (!rr) return;
    check(rr->reports.size() == p.count);
    std::array<ReportBlock, k_max_report_blocks> blocks{};
    for (std::size_t i = 0; i < rr->reports.size(); ++i)
        blocks[i] = rr->reports[i];
    const std::size_t from = out.size();
    const auto written = append_receiver_report(
        out, rr->ssrc, std::span<const ReportBlock>(blocks).first(rr->reports.size()), rr->profile_extension);
    if (!written) {
        check(p.padding);
        return;
    }
    const auto again = parse_receiver_report(reparse(out, from, RtcpType::rr));
    check(again.ok() && again->ssrc == rr->ssrc && same(again->profile_extension, rr->profile_extension));
    check_reports(again->reports, rr->reports);
    if (!p.padding) check(same(sg::Bytes(out).subspan(from), p.data));
}

void sdes(const RtcpPacket& p, Buffer& out) {
    const auto view = parse_sdes(p);
    if (!view) return;
    std::vector<std::vector<SdesItem>> items;
    std::vector<std::uint32_t> ssrcs;
    for (const SdesChunk chunk : *view) {
        ssrcs.push_back(chunk.ssrc());
        items.emplace_back();
        for (const SdesItem item : chunk) {
            check(item.type != SdesType::end);
            items.back().push_back(item);
        }
    }
    check(ssrcs.size() == view->chunk_count());
    std::vector<SdesChunkSpec> chunks;
    for (std::size_t i = 0; i < ssrcs.size(); ++i)
        chunks.push_back(SdesChunkSpec{ssrcs[i], items[i]});
    const std::size_t from = out.size();
    const auto written = append_sdes(out, chunks);
    check(written.ok());  // every decoded SDES is representable
    const auto again = parse_sdes(reparse(out, from, RtcpType::sdes));
    check(again.ok() && again->chunk_count() == ssrcs.size());
    std::size_t c = 0;
    for (const SdesChunk chunk : *again) {
        check(c < ssrcs.size() && chunk.ssrc() == ssrcs[c]);
        std::size_t i = 0;
        for (const SdesItem item : chunk) {
            check(i < items[c].size() && item.type == items[c][i].type && item.text == items[c][i].text);
            ++i;
        }
        check(i == items[c].size());
        ++c;
    }
    check(c == ssrcs.size());
}

void bye(const RtcpPacket& p, Buffer& out) {
    const auto view = parse_bye(p);
    if (!view) return;
    check(view->source_count() == p.count);
    std::array<std::uint32_t, k_max_bye_sources> sources{};
    for (std::size_t i = 0; i < view->source_count(); ++i)
        sources[i] = view->source(i);
    const std::size_t from = out.size();
    const auto written =
        append_bye(out, std::span<const std::uint32_t>(sources).first(view->source_count()), view->reason);
    check(written.ok());
    const auto again = parse_bye(reparse(out, from, RtcpType::bye));
    check(again.ok() && same(again->sources, view->sources) && again->reason == view->reason);
}

void app(const RtcpPacket& p, Buffer& out) {
    const auto view = parse_app(p);
    if (!view) return;
    check(view->name.size() == 4 && view->data.size() % 4 == 0);
    const std::size_t from = out.size();
    const auto written = append_app(out, view->subtype, view->ssrc, view->name, view->data);
    check(written.ok());
    const auto again = parse_app(reparse(out, from, RtcpType::app));
    check(again.ok() && again->subtype == view->subtype && again->ssrc == view->ssrc &&
          again->name == view->name && same(again->data, view->data));
    if (!p.padding) check(same(sg::Bytes(out).subspan(from), p.data));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const sg::Bytes input(data, size);
    const auto compound = parse_compound(input);
    const auto strict = validate_compound(input);
    if (strict) check(compound.ok() && compound->size() == strict->size());
    if (!compound) return 0;

    std::size_t total = 0;
    for (const RtcpPacket& p : *compound) {
        check(p.data.size() % 4 == 0 && p.body.size() + 4 <= p.data.size());
        total += p.data.size();
    }
    check(total == size);

    Buffer out;
    for (const RtcpPacket& p : *compound) {
        switch (p.type) {
            case RtcpType::sr:
                sender_report(p, out);
                break;
            case RtcpType::rr:
                receiver_report(p, out);
                break;
            case RtcpType::sdes:
                sdes(p, out);
                break;
            case RtcpType::bye:
                bye(p, out);
                break;
            case RtcpType::app:
                app(p, out);
                break;
            default:
                break;  // generic packets: nothing to rebuild
        }
    }
    // Everything rebuilt forms a compound that splits again.
    if (!out.empty()) check(parse_compound(out).ok());
    return 0;
}
