#pragma once
// One RTSP control connection of `streamgate serve`: reads requests (and interleaved RTCP), answers them in
// order through serve's engine (file_sessions.hpp) and carries its sessions' interleaved media. Its
// coroutines run on one of the server's event loops, the one that accepted it, and so do its sessions: a
// reader, a writer draining a bounded queue (a slow TCP viewer loses media packets instead of stalling
// anyone else) and a once-a-second check of session timeouts. DESCRIBE and SETUP wait for the presentation
// cache and the demuxer's open on the blocking pool; the reader handles nothing else meanwhile, so answers
// stay in request order.

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <cstddef>
#include <cstdint>

#include "common/units.hpp"
#include "rtsp/message.hpp"
#include "rtsp_server/rtsp_server_connection.hpp"
#include "server/file_sessions.hpp"
#include "server/session.hpp"

namespace sg::server {

class RtspConnection : public RtspServerConnection, public InterleavedSink {
public:
    RtspConnection(asio::ip::tcp::socket socket, ServerContext& context);

    bool send_interleaved(std::uint8_t channel, Bytes frame) override;

    // Limits of what one connection may hold back.
    static constexpr std::size_t k_max_queued_bytes = 4 * k_mib;

private:
    asio::awaitable<rtsp::Response> handle(const rtsp::Request& request) override;
    std::size_t expire_sessions(Clock::time_point now, Clock::duration timeout) override {
        return files_.expire(now, timeout);
    }
    void on_interleaved(const rtsp::InterleavedFrame& /*frame*/) override { files_.touch_all(); }
    void on_bad_message() override { ++context_.bad_requests; }
    void on_reply(const rtsp::Response& response) override {
        if (response.status == 400) ++context_.bad_requests;
    }
    void on_close(std::string_view reason) override;

    ServerContext& context_;
    FileSessions files_;
};

}  // namespace sg::server
