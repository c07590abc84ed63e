#include "mssr/ts_grouper.hpp"

#include <utility>

namespace sg::mssr {
namespace {

constexpr std::uint8_t k_sync = 0x47;
constexpr std::uint16_t k_null_pid = 0x1fff;

bool is_video_stream_id(std::uint8_t id) {
    return id >= 0xe0 && id <= 0xef;
}

}  // namespace

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
        if (video) seen_video_ = true;
        if (video || !seen_video_) group.adu.data = std::exchange(tables_, {});
    } else if (group.open) {
        if (random_access && group.adu.stream == k_ts_video_stream) group.adu.priority = Priority::key;
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
