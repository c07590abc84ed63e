// libFuzzer target for RTP packets and RFC 3550 receiver statistics.
//  1. The whole input is parsed as one RTP packet; a packet that parses is rebuilt with append_rtp and must
//     give the same header, payload and padding size (and identical octets apart from padding content).
//  2. The input is then read as records [length u8][arrival step u8][length octets]; each record goes
//     through (1), and the RTP ones feed a ReceiverStats whose report blocks must stay in range.

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "rtp/receiver_stats.hpp"
#include "rtp/rtcp.hpp"
#include "rtp/rtp_packet.hpp"

namespace {

using namespace sg::rtp;

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

void check_same_fields(const RtpView& a, const RtpView& b) {
    check(a.marker() == b.marker() && a.payload_type() == b.payload_type() && a.sequence() == b.sequence() &&
          a.timestamp() == b.timestamp() && a.ssrc() == b.ssrc() && a.csrc_count() == b.csrc_count());
    for (std::size_t i = 0; i < a.csrc_count(); ++i)
        check(a.csrc(i) == b.csrc(i));
    check(a.has_extension() == b.has_extension() && a.extension_profile() == b.extension_profile() &&
          same(a.extension_data(), b.extension_data()));
    check(a.has_padding() == b.has_padding() && a.padding_size() == b.padding_size() &&
          a.header_size() == b.header_size() && same(a.payload(), b.payload()));
}

void round_trip(sg::Bytes packet) {
    const auto view = parse_rtp(packet);
    if (!view) return;
    check(view->header_size() + view->payload().size() + view->padding_size() == packet.size());
    check(view->padding_size() <= 255 && view->has_padding() == (view->padding_size() != 0));

    std::array<std::uint32_t, k_max_csrcs> csrcs{};
    for (std::size_t i = 0; i < view->csrc_count(); ++i)
        csrcs[i] = view->csrc(i);
    RtpHeader header;
    header.marker = view->marker();
    header.payload_type = view->payload_type();
    header.sequence = view->sequence();
    header.timestamp = view->timestamp();
    header.ssrc = view->ssrc();
    header.csrcs = std::span<const std::uint32_t>(csrcs).first(view->csrc_count());
    if (view->has_extension())
        header.extension = RtpExtension{view->extension_profile(), view->extension_data()};

    std::vector<std::uint8_t> out;
    const auto written =
        append_rtp(out, header, view->payload(), static_cast<std::uint8_t>(view->padding_size()));
    check(written.ok() && *written == packet.size());
    const auto again = parse_rtp(out);
    check(again.ok());
    check_same_fields(*view, *again);
    const std::size_t unpadded = view->header_size() + view->payload().size();
    check(same(packet.first(unpadded), sg::Bytes(out).first(unpadded)));

    // Rewriters touch exactly their field.
    std::vector<std::uint8_t> copy(packet.begin(), packet.end());
    check(set_sequence(copy, static_cast<std::uint16_t>(~view->sequence())));
    check(set_timestamp(copy, ~view->timestamp()));
    check(set_ssrc(copy, ~view->ssrc()));
    check(set_payload_type(copy, static_cast<std::uint8_t>(view->payload_type() ^ 0x55)));
    check(!set_payload_type(copy, 200));
    const auto rewritten = parse_rtp(copy);
    check(rewritten.ok());
    check(rewritten->sequence() == static_cast<std::uint16_t>(~view->sequence()) &&
          rewritten->timestamp() == ~view->timestamp() && rewritten->ssrc() == ~view->ssrc() &&
          rewritten->payload_type() == (view->payload_type() ^ 0x55) &&
          rewritten->marker() == view->marker());
    check(same(sg::Bytes(copy).subspan(12), packet.subspan(12)));
}

void check_block(const ReportBlock& block) {
    check(block.cumulative_lost >= k_min_cumulative_lost && block.cumulative_lost <= k_max_cumulative_lost);
    // The block survives the wire.
    std::vector<std::uint8_t> out;
    check(append_receiver_report(out, 1, std::span<const ReportBlock>(&block, 1)).ok());
    const auto compound = validate_compound(out);
    check(compound.ok());
    const auto rr = parse_receiver_report((*compound)[0]);
    check(rr.ok() && rr->reports.size() == 1 && rr->reports[0] == block);
}

void check_stats(const ReceiverStats& stats) {
    check(stats.duplicates() <= stats.received());
    if (stats.valid()) {
        check(stats.received() >= 1 && stats.expected() >= 1);
    } else {
        check(stats.expected() == 0);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const sg::Bytes input(data, size);
    round_trip(input);
    (void)looks_like_rtcp(input);

    ReceiverStats stats(0x5eed);
    std::uint32_t arrival = 0;
    ReceiverStats::Clock::time_point now{};
    std::size_t pos = 0;
    while (size - pos >= 2) {
        const std::size_t length = std::min<std::size_t>(data[pos], size - pos - 2);
        const std::uint8_t step = data[pos + 1];
        const sg::Bytes record = input.subspan(pos + 2, length);
        pos += 2 + length;

        arrival += std::uint32_t{step} * 97u;
        now += std::chrono::milliseconds(step);
        round_trip(record);
        if (const auto view = parse_rtp(record)) {
            stats.on_packet(view->sequence(), view->timestamp(), arrival);
        } else if (record.size() >= 8) {
            stats.on_sender_report(
                sg::load_be32(record.data()) * (std::uint64_t{1} << 32) + sg::load_be32(record.data() + 4),
                now);
        }
        check_stats(stats);
        if ((step & 0x0f) == 0) check_block(stats.make_report_block(now));
    }
    check_block(stats.make_report_block(now));
    return 0;
}
