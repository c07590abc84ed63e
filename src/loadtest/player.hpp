#pragma once
// One simulated player (issue 4's TestPlayer): DESCRIBE, SETUP every track (UDP port pairs or interleaved
// channels), PLAY, receive and check RTP without decoding it (version 2, announced payload type, one SSRC
// per track, RFC 3550 loss and jitter), RTCP receiver reports and keep-alives while playing, TEARDOWN after
// the duration. Many players share one io_context; a player never blocks it.

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "client/rtsp_client.hpp"
#include "loadtest/player_result.hpp"
#include "rtsp/url.hpp"

namespace sg::loadtest {

struct PlayerConfig {
    rtsp::Url url;
    std::string url_text;              // without credentials: the Request-URI of DESCRIBE
    std::optional<double> duration_s;  // nothing: the SDP's a=range length (`--duration auto`)
    bool tcp = false;                  // interleaved on the RTSP connection instead of UDP
    client::ConnectOptions connect;
    std::chrono::milliseconds first_rtp_timeout{5000};
    // SO_RCVBUF asked for each RTP socket (the kernel doubles it and caps it at net.core.rmem_max). The
    // default is deep; a small one plays a player that reads slowly or a set-top box with little memory.
    int udp_receive_buffer = 1 << 20;
    std::chrono::seconds report_interval{5};  // RTCP receiver reports
};

// Shared by every player of a run, read by the progress line. Atomic so players may run on several threads.
struct LiveCounters {
    std::atomic<std::uint64_t> rtp_bytes{0};
    std::atomic<std::uint64_t> rtp_packets{0};
    std::atomic<std::uint32_t> active{0};
    std::atomic<std::uint32_t> succeeded{0};
    std::atomic<std::uint32_t> failed{0};
    std::atomic<bool> stop_requested{false};  // players end (with TEARDOWN) at their next wake-up
};

// Runs one player to its end. `live` must outlive the returned coroutine.
asio::awaitable<PlayerResult> run_player(PlayerConfig config, LiveCounters& live);

}  // namespace sg::loadtest
