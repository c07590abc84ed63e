// libFuzzer target for the MPEG-TS grouping of `mssr send udp://...` (src/mssr/ts_grouper.hpp), whose input
// is whatever arrives on its UDP port. The input's first octet chooses how the rest is cut into datagrams
// (1-8 TS packets each, the last one short); the grouper must hand out every packet it accepted exactly once,
// in whole TS packets, as ADUs within its bound, with counts that match what it handed out.

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "mssr/ts_grouper.hpp"

namespace {

using namespace sg::mssr;

void check(bool property) {
    if (!property) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::size_t datagram = (1 + data[0] % 8) * k_ts_packet_size;
    sg::Bytes rest(data + 1, size - 1);
    TsGrouper grouper;
    std::size_t out_bytes = 0;
    std::uint64_t adus = 0;
    std::uint64_t keys = 0;
    std::uint64_t disposables = 0;
    const auto drain = [&] {
        for (const TsAdu& adu : grouper.take()) {
            check(!adu.data.empty() && adu.data.size() % k_ts_packet_size == 0);
            check(adu.data.size() <= TsGrouper::k_max_adu_bytes);
            check(adu.stream == k_ts_video_stream || adu.stream == k_ts_other_stream);
            // Only video is valued; everything else is `reference`.
            check(adu.stream == k_ts_video_stream || adu.priority == Priority::reference);
            for (std::size_t at = 0; at < adu.data.size(); at += k_ts_packet_size)
                check(adu.data[at] == 0x47);
            out_bytes += adu.data.size();
            ++adus;
            keys += adu.priority == Priority::key ? 1 : 0;
            disposables += adu.priority == Priority::disposable ? 1 : 0;
        }
    };
    while (!rest.empty()) {
        const std::size_t n = std::min(datagram, rest.size());
        grouper.feed(rest.first(n));
        rest = rest.subspan(n);
        drain();
    }
    grouper.flush();
    drain();
    const TsGrouperStats& st = grouper.stats();
    check(out_bytes == (st.packets - st.null_packets - st.orphans) * k_ts_packet_size);
    check(adus == st.adus && keys == st.key_adus && disposables == st.disposable_adus);
    return 0;
}
