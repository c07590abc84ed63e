#include "mssr/ts_grouper.hpp"

#include <algorithm>
#include <utility>

namespace sg::mssr {
namespace {

constexpr std::uint8_t k_sync = 0x47;
constexpr std::uint16_t k_null_pid = 0x1fff;

bool is_video_stream_id(std::uint8_t id) {
    return id >= 0xe0 && id <= 0xef;
}

// The PES header: start code and stream id (4), length (2), flags (2), the header data's length (1).
constexpr std::size_t k_pes_fixed_header = 9;

}  // namespace

// Walks the Annex B units in `es` (start code 00 00 01, then the unit's header) up to the first picture
// (VCL unit) and reads whether other pictures refer to it. The codec is learned from units only one codec
// has at the start of an access unit: H.264's delimiter (type 9) or SPS (type 7), H.265's VPS, SPS or
// delimiter (types 32, 33, 35, layer 0, temporal id 0).
void TsGrouper::value_from_es(Group& group, Bytes es) {
    const std::size_t room = k_max_es_head - group.es_head.size();
    group.es_head.insert(group.es_head.end(), es.begin(), es.begin() + std::min(room, es.size()));
    const Bytes head(group.es_head);
    for (std::size_t i = 0; i + 4 < head.size(); ++i) {
        if (head[i] != 0 || head[i + 1] != 0 || head[i + 2] != 1) continue;
        const std::uint8_t first = head[i + 3];
        const std::uint8_t second = head[i + 4];
        if (group.codec == Codec::unknown) {
            if ((first & 0x9f) == 0x09 || (first & 0x9f) == 0x07) {
                group.codec = Codec::h264;
            } else if ((first == 0x40 || first == 0x42 || first == 0x46) && second == 0x01) {
                group.codec = Codec::h265;
            } else {
                continue;
            }
        }
        bool vcl = false;
        bool reference = true;
        if (group.codec == Codec::h264) {
            const std::uint8_t type = first & 0x1f;
            vcl = type >= 1 && type <= 5;
            reference = (first & 0x60) != 0;  // nal_ref_idc
        } else {
            const auto type = static_cast<std::uint8_t>((first >> 1) & 0x3f);
            vcl = type <= 31;
            reference = type > 14 || type % 2 == 1;  // TRAIL_N, TSA_N, STSA_N, RADL_N, RASL_N, RSV_VCL_N*
        }
        if (!vcl) continue;
        group.valued = true;
        if (!reference && group.adu.priority == Priority::reference)
            group.adu.priority = Priority::disposable;
        break;
    }
    if (group.es_head.size() >= k_max_es_head) group.valued = true;  // not found: it stays `reference`
    if (group.valued) group.es_head = {};
}

void TsGrouper::feed(Bytes datagram) {
    while (datagram.size() >= k_ts_packet_size) {
        packet(datagram.first(k_ts_packet_size));
        datagram = datagram.subspan(k_ts_packet_size);
    }
    if (!datagram.empty()) ++stats_.bad_packets;
}

void TsGrouper::packet(Bytes ts) {
    if (ts[0] != k_sync) {
        ++stats_.bad_packets;
        return;
    }
    ++stats_.packets;
    const auto pid = static_cast<std::uint16_t>(((ts[1] & 0x1f) << 8) | ts[2]);
    if (pid == k_null_pid) {
        ++stats_.null_packets;
        return;
    }
    const bool unit_start = (ts[1] & 0x40) != 0;
    const std::uint8_t control = (ts[3] >> 4) & 0x3;
    std::size_t payload = 4;
    bool random_access = false;
    if (control & 0x2) {
        const std::size_t length = ts[4];
        if (length > 0) random_access = (ts[5] & 0x40) != 0;
        payload = 5 + length;
    }
    const bool has_payload = (control & 0x1) != 0 && payload < k_ts_packet_size;
    const bool pes_start = unit_start && has_payload && payload + 4 <= k_ts_packet_size && ts[payload] == 0 &&
                           ts[payload + 1] == 0 && ts[payload + 2] == 1;

    Group& group = pids_[pid];
    if (pes_start) {
        close(group);
        const bool video = is_video_stream_id(ts[payload + 3]);
        group.pes = true;
        group.open = true;
        group.adu.stream = video ? k_ts_video_stream : k_ts_other_stream;
        group.adu.priority = video && random_access ? Priority::key : Priority::reference;
        group.adu.data.clear();
        group.es_head.clear();
        group.valued = !video;
        if (video) seen_video_ = true;
        if (video || !seen_video_) group.adu.data = std::exchange(tables_, {});
        const std::size_t es = payload + k_pes_fixed_header;
        if (video && es <= k_ts_packet_size) {
            const std::size_t header_data = ts[payload + 8];
            if (es + header_data <= k_ts_packet_size) value_from_es(group, ts.subspan(es + header_data));
        }
    } else if (group.open) {
        if (random_access && group.adu.stream == k_ts_video_stream) group.adu.priority = Priority::key;
        if (!group.valued && has_payload) value_from_es(group, ts.subspan(payload));
    } else if (!group.pes) {
        // A table section (or its continuation): held for the next video access unit.
        if (tables_.size() + k_ts_packet_size > k_max_table_bytes)
            emit(TsAdu{k_ts_video_stream, Priority::key, std::exchange(tables_, {})});
        tables_.insert(tables_.end(), ts.begin(), ts.end());
        return;
    } else {
        ++stats_.orphans;
        return;
    }
    group.adu.data.insert(group.adu.data.end(), ts.begin(), ts.end());
    if (group.adu.data.size() + k_ts_packet_size > k_max_adu_bytes) {
        // Cut: the rest of this PES follows as a lower-priority ADU of the same stream.
        const std::uint8_t stream = group.adu.stream;
        close(group);
        group.open = true;
        group.adu.stream = stream;
    }
}

void TsGrouper::close(Group& group) {
    if (!group.open) return;
    group.open = false;
    if (!group.adu.data.empty()) emit(std::move(group.adu));
    group.adu = TsAdu{};
}

void TsGrouper::emit(TsAdu adu) {
    ++stats_.adus;
    if (adu.priority == Priority::key) ++stats_.key_adus;
    if (adu.priority == Priority::disposable) ++stats_.disposable_adus;
    ready_.push_back(std::move(adu));
}

void TsGrouper::flush() {
    for (Group& group : pids_)
        close(group);
    if (!tables_.empty()) emit(TsAdu{k_ts_video_stream, Priority::key, std::exchange(tables_, {})});
}

std::vector<TsAdu> TsGrouper::take() {
    return std::exchange(ready_, {});
}

}  // namespace sg::mssr
