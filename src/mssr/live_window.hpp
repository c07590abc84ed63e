#pragma once
// The live congestion mode (`streamgate mssr send --stream-kbps`): the window starts at, and never halves
// below, what carries the stream's peak rate for one latency budget. Data older than the budget is dropped
// unsent anyway, so a larger window could not carry more of the stream usefully, and a smaller one (NewReno
// under random loss: about 1.22 / sqrt(p) datagrams per RTT) makes key frames miss their deadline. Not
// TCP-friendly: it never yields below the stream's own rate; docs/mssr.md weighs it against the other modes.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "mssr/congestion.hpp"

namespace sg::mssr {

// `base` with its minimum (and initial) window raised to stream_kbps for one `latency`, in datagrams of
// `mss` octets, at least 2. stream_kbps 0 returns `base` unchanged (the TCP-friendly default).
inline CongestionConfig live_congestion(CongestionConfig base, std::uint32_t stream_kbps,
                                        std::chrono::milliseconds latency, std::size_t mss) {
    if (stream_kbps == 0 || mss == 0) return base;
    const auto latency_ms = static_cast<std::uint64_t>(std::max<std::int64_t>(0, latency.count()));
    const std::uint64_t octets = std::uint64_t{stream_kbps} * latency_ms / 8;  // kbit/s x ms / 8 = octets
    const auto packets = static_cast<std::size_t>(std::max<std::uint64_t>(2, (octets + mss - 1) / mss));
    base.min_window_packets = packets;
    base.initial_window_packets = std::max(base.initial_window_packets, packets);
    return base;
}

}  // namespace sg::mssr
