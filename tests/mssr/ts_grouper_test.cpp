// TsGrouper: TS packets into ADUs per PES, key frames by random_access_indicator, tables in front of video.
#include "mssr/ts_grouper.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace sg::mssr {
namespace {

constexpr std::uint16_t k_pat = 0x0000;
constexpr std::uint16_t k_pmt = 0x1000;
constexpr std::uint16_t k_video = 0x0100;
constexpr std::uint16_t k_audio = 0x0101;

struct TsPacket {
    std::uint16_t pid = k_video;
    bool unit_start = false;
    bool random_access = false;
    std::uint8_t stream_id = 0;  // PES start code + this when unit_start on a PES PID
    std::uint8_t fill = 0;
};

std::vector<std::uint8_t> ts(const TsPacket& p) {
    std::vector<std::uint8_t> out(k_ts_packet_size, p.fill);
    out[0] = 0x47;
    out[1] = static_cast<std::uint8_t>((p.unit_start ? 0x40 : 0) | (p.pid >> 8));
    out[2] = static_cast<std::uint8_t>(p.pid & 0xff);
    std::size_t payload = 4;
    if (p.random_access) {
        out[3] = 0x30;  // adaptation field and payload
        out[4] = 1;
        out[5] = 0x40;
        payload = 6;
    } else {
        out[3] = 0x10;
    }
    if (p.unit_start && p.stream_id != 0) {
        out[payload] = 0;
        out[payload + 1] = 0;
        out[payload + 2] = 1;
        out[payload + 3] = p.stream_id;
    } else if (p.unit_start) {
        out[payload] = 0;  // pointer_field of a table section
        out[payload + 1] = 0x02;
    }
    return out;
}

std::vector<std::uint8_t> datagram(const std::vector<TsPacket>& packets) {
    std::vector<std::uint8_t> out;
    for (const auto& p : packets) {
        const auto bytes = ts(p);
        out.insert(out.end(), bytes.begin(), bytes.end());
    }
    return out;
}

// The TS packets of one video PES (PES header with a PTS, then `es`), the first with the random access flag
// when `key`; the last packet's tail is padded with 0xff.
std::vector<std::uint8_t> video_pes(const std::vector<std::uint8_t>& es, bool key = false) {
    std::vector<std::uint8_t> bytes = {0, 0, 1, 0xe0, 0, 0, 0x80, 0x80, 5, 0x21, 0, 1, 0, 1};
    bytes.insert(bytes.end(), es.begin(), es.end());
    std::vector<std::uint8_t> out;
    for (std::size_t at = 0; at < bytes.size();) {
        std::vector<std::uint8_t> packet = ts({k_video, at == 0, key && at == 0, 0, 0});
        const std::size_t payload = key && at == 0 ? 6 : 4;
        const std::size_t n = std::min(bytes.size() - at, k_ts_packet_size - payload);
        std::copy_n(bytes.begin() + static_cast<std::ptrdiff_t>(at), n,
                    packet.begin() + static_cast<std::ptrdiff_t>(payload));
        std::fill(packet.begin() + static_cast<std::ptrdiff_t>(payload + n), packet.end(), 0xff);
        out.insert(out.end(), packet.begin(), packet.end());
        at += n;
    }
    return out;
}

// Annex B units: a 4-octet start code, the header octets, then `body` octets of 0x55.
std::vector<std::uint8_t> unit(const std::vector<std::uint8_t>& header, std::size_t body = 4) {
    std::vector<std::uint8_t> out(4 + header.size() + body, 0x55);
    out[0] = out[1] = out[2] = 0;
    out[3] = 1;
    std::copy(header.begin(), header.end(), out.begin() + 4);
    return out;
}

std::vector<std::uint8_t> concat(std::initializer_list<std::vector<std::uint8_t>> parts) {
    std::vector<std::uint8_t> out;
    for (const auto& p : parts)
        out.insert(out.end(), p.begin(), p.end());
    return out;
}

Priority priority_of(const std::vector<std::vector<std::uint8_t>>& pes_list) {
    TsGrouper grouper;
    for (const auto& pes : pes_list)
        grouper.feed(pes);
    grouper.flush();
    const auto adus = grouper.take();
    EXPECT_EQ(adus.size(), pes_list.size());
    return adus.empty() ? Priority::key : adus.back().priority;
}

// A video PES whose first picture no other picture refers to is `disposable`: H.264 nal_ref_idc 0, H.265
// a sub-layer non-reference type. The codec comes from the PID's delimiters or parameter sets; without them
// nothing is assumed.
TEST(TsGrouper, AVideoPesWhoseFirstPictureNoOtherRefersToIsDisposable) {
    const auto h264_aud = unit({0x09, 0xf0}, 0);
    EXPECT_EQ(priority_of({video_pes(concat({h264_aud, unit({0x01, 0x9a})}))}), Priority::disposable);
    EXPECT_EQ(priority_of({video_pes(concat({h264_aud, unit({0x41, 0x9a})}))}), Priority::reference);
    EXPECT_EQ(priority_of({video_pes(concat({h264_aud, unit({0x65, 0x88})}), true)}), Priority::key);
    // After an SEI, with the slice's start code split across two TS packets (170 octets of the elementary
    // stream fit the first: 6 of the delimiter, 162 of the SEI unit, then 00 00 | 00 01 01 9a).
    EXPECT_EQ(priority_of({video_pes(concat({h264_aud, unit({0x06, 0x05}, 156), unit({0x01, 0x9a})}))}),
              Priority::disposable);
    // The codec is learned once per PID: a later PES without a delimiter is still read.
    EXPECT_EQ(priority_of({video_pes(concat({h264_aud, unit({0x41, 0x9a})})), video_pes(unit({0x01, 0x9a}))}),
              Priority::disposable);
    // No delimiter or parameter set yet: the codec is unknown, and the PES stays `reference`.
    EXPECT_EQ(priority_of({video_pes(unit({0x01, 0x9a}))}), Priority::reference);
    // A first picture past the searched head (1,024 octets) stays `reference`.
    EXPECT_EQ(priority_of({video_pes(concat({h264_aud, unit({0x06, 0x05}, 1100), unit({0x01, 0x9a})}))}),
              Priority::reference);
    const auto h265_aud = unit({0x46, 0x01, 0x50}, 0);
    EXPECT_EQ(priority_of({video_pes(concat({h265_aud, unit({0x00, 0x01})}))}), Priority::disposable);
    EXPECT_EQ(priority_of({video_pes(concat({h265_aud, unit({0x02, 0x01})}))}), Priority::reference);
    EXPECT_EQ(priority_of({video_pes(concat({unit({0x40, 0x01}), unit({0x10, 0x01})}))}),
              Priority::disposable);

    TsGrouper grouper;
    grouper.feed(video_pes(concat({h264_aud, unit({0x01, 0x9a})})));
    grouper.feed(video_pes(concat({h264_aud, unit({0x01, 0x9a})})));
    grouper.flush();
    EXPECT_EQ(grouper.stats().disposable_adus, 2u);
}

TEST(TsGrouper, OneAduPerVideoAccessUnitCutAtTheNextUnitStart) {
    TsGrouper grouper;
    grouper.feed(datagram(
        {{k_video, true, true, 0xe0, 1}, {k_video, false, false, 0, 2}, {k_video, false, false, 0, 3}}));
    EXPECT_TRUE(grouper.take().empty());  // the access unit may go on
    grouper.feed(datagram({{k_video, true, false, 0xe0, 4}, {k_video, false, false, 0, 5}}));
    auto adus = grouper.take();
    ASSERT_EQ(adus.size(), 1u);
    EXPECT_EQ(adus[0].stream, k_ts_video_stream);
    EXPECT_EQ(adus[0].priority, Priority::key);
    EXPECT_EQ(adus[0].data.size(), 3 * k_ts_packet_size);
    EXPECT_EQ(adus[0].data, datagram({{k_video, true, true, 0xe0, 1},
                                      {k_video, false, false, 0, 2},
                                      {k_video, false, false, 0, 3}}));
    grouper.flush();
    adus = grouper.take();
    ASSERT_EQ(adus.size(), 1u);
    EXPECT_EQ(adus[0].priority, Priority::reference);
    EXPECT_EQ(adus[0].data.size(), 2 * k_ts_packet_size);
    EXPECT_EQ(grouper.stats().key_adus, 1u);
}

TEST(TsGrouper, AudioIsItsOwnStreamAndDoesNotCutVideo) {
    TsGrouper grouper;
    grouper.feed(datagram({{k_video, true, true, 0xe0},
                           {k_audio, true, false, 0xc0},
                           {k_video, false},
                           {k_audio, true, false, 0xc0}}));
    auto adus = grouper.take();
    ASSERT_EQ(adus.size(), 1u);  // the first audio PES, cut by the second
    EXPECT_EQ(adus[0].stream, k_ts_other_stream);
    EXPECT_EQ(adus[0].data.size(), k_ts_packet_size);
    grouper.flush();
    adus = grouper.take();
    ASSERT_EQ(adus.size(), 2u);
    EXPECT_EQ(adus[0].stream, k_ts_video_stream);
    EXPECT_EQ(adus[0].data.size(), 2 * k_ts_packet_size);
    EXPECT_EQ(adus[1].stream, k_ts_other_stream);
}

TEST(TsGrouper, TablesRideInFrontOfTheNextVideoAccessUnit) {
    TsGrouper grouper;
    grouper.feed(datagram({{k_video, true, false, 0xe0}}));
    grouper.feed(datagram({{k_pat, true}, {k_pmt, true}, {k_video, true, true, 0xe0}, {k_video, false}}));
    grouper.flush();
    const auto adus = grouper.take();
    ASSERT_EQ(adus.size(), 2u);
    EXPECT_EQ(adus[0].data.size(), k_ts_packet_size);
    EXPECT_EQ(adus[1].priority, Priority::key);
    EXPECT_EQ(adus[1].data,
              datagram({{k_pat, true}, {k_pmt, true}, {k_video, true, true, 0xe0}, {k_video, false}}));
}

TEST(TsGrouper, DropsNullPacketsBadSyncOrphansAndShortTails) {
    TsGrouper grouper;
    auto bytes = datagram({{0x1fff}, {k_video, false}, {k_video, true, false, 0xe0}});
    bytes[k_ts_packet_size * 2] = 0x00;  // third packet loses its sync byte
    bytes.push_back(0x47);               // and a stray tail
    grouper.feed(bytes);
    grouper.flush();
    // What is left is the continuation on a PID not yet known as PES: held like a table, out at flush.
    const auto adus = grouper.take();
    ASSERT_EQ(adus.size(), 1u);
    EXPECT_EQ(adus[0].data.size(), k_ts_packet_size);
    EXPECT_EQ(grouper.stats().null_packets, 1u);
    EXPECT_EQ(grouper.stats().bad_packets, 2u);
    EXPECT_EQ(grouper.stats().packets, 2u);
}

TEST(TsGrouper, ContinuationOfAnUnseenPesIsAnOrphan) {
    TsGrouper grouper;
    grouper.feed(datagram({{k_video, true, false, 0xe0}}));
    grouper.flush();
    grouper.take();
    grouper.feed(datagram({{k_video, false}}));
    grouper.flush();
    EXPECT_TRUE(grouper.take().empty());
    EXPECT_EQ(grouper.stats().orphans, 1u);
}

TEST(TsGrouper, AnOversizedAccessUnitIsCutAndGoesOnInOrder) {
    TsGrouper grouper;
    std::vector<TsPacket> packets{{k_video, true, true, 0xe0}};
    const std::size_t count = TsGrouper::k_max_adu_bytes / k_ts_packet_size + 10;
    for (std::size_t i = 1; i < count; ++i)
        packets.push_back({k_video, false});
    grouper.feed(datagram(packets));
    grouper.flush();
    const auto adus = grouper.take();
    ASSERT_EQ(adus.size(), 2u);
    EXPECT_EQ(adus[0].priority, Priority::key);
    EXPECT_EQ(adus[1].priority, Priority::reference);
    EXPECT_EQ(adus[0].data.size() + adus[1].data.size(), count * k_ts_packet_size);
    EXPECT_LE(adus[0].data.size(), TsGrouper::k_max_adu_bytes);
}

}  // namespace
}  // namespace sg::mssr
