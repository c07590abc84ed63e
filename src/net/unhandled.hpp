#pragma once
// Completion handler for long-lived coroutines (asio::co_spawn): an exception that escapes one is a bug, and
// asio::detached would drop it without a trace. log_unhandled(where) counts it (the metric
// streamgate_unhandled_exceptions_total{where=...}) and logs it, rate-limited; the io_context keeps running.
//
//     asio::co_spawn(executor, run_upstream(), net::log_unhandled(net::Unhandled::mount_upstream));

#include <array>
#include <cstdint>
#include <exception>
#include <string_view>

namespace sg::net {

// Where an exception escaped: a fixed set, so the metric has bounded labels and can be registered up front.
enum class Unhandled : std::uint8_t {
    socks_session,
    socks_connector,
    rtsp_connection,  // serve's and the RTSP proxy's control connections (RtspServerConnection)
    rtsp_busy_reply,  // the 503 answer to connections over an RTSP listener's caps
    mount_upstream,
    mount_report,
    player_rtcp,      // the RTSP proxy's per-player RTCP receivers
    publisher_media,  // the RTSP proxy's receivers of a publisher's UDP RTP and RTCP
    media_relay,      // the RTSP ALG's UDP media relays
    serve_session,
    admin_connection,
    accept_loop,
    relay_media,    // streamgate relay's media sockets
    relay_control,  // streamgate relay's control listeners
    turn_data,      // streamgate turn's UDP listeners and relayed sockets
};
// In the enum's order: a site's counter and log line are found by its value.
inline constexpr std::array k_unhandled_sites = {
    Unhandled::socks_session,   Unhandled::socks_connector,  Unhandled::rtsp_connection,
    Unhandled::rtsp_busy_reply, Unhandled::mount_upstream,   Unhandled::mount_report,
    Unhandled::player_rtcp,     Unhandled::publisher_media,  Unhandled::media_relay,
    Unhandled::serve_session,   Unhandled::admin_connection, Unhandled::accept_loop,
    Unhandled::relay_media,     Unhandled::relay_control,    Unhandled::turn_data,
};
static_assert(
    [] {
        for (std::size_t i = 0; i < k_unhandled_sites.size(); ++i)
            if (static_cast<std::size_t>(k_unhandled_sites[i]) != i) return false;
        return true;
    }(),
    "k_unhandled_sites must list every Unhandled value in the enum's order");

// The label value ("mount_upstream").
std::string_view to_string(Unhandled where) noexcept;

// Exceptions counted at `where` since the process started.
std::uint64_t unhandled_count(Unhandled where) noexcept;

// Counts and logs `e` (nothing when null). Never throws.
void report_unhandled(Unhandled where, const std::exception_ptr& e) noexcept;

class LogUnhandled {
public:
    explicit LogUnhandled(Unhandled where) noexcept : where_(where) {}
    // Any result a coroutine returns after the exception_ptr is ignored.
    template <typename... Result>
    void operator()(const std::exception_ptr& e, Result&&... /*result*/) const noexcept {
        report_unhandled(where_, e);
    }

private:
    Unhandled where_;
};

inline LogUnhandled log_unhandled(Unhandled where) noexcept {
    return LogUnhandled(where);
}

}  // namespace sg::net
