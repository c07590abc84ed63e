#pragma once
// The I/O half of a server-side RTSP control connection, shared by `streamgate serve` (RtspConnection) and
// the gateway's RTSP proxy listener (proxy::ProxyConnection): a reader coroutine that frames requests and
// interleaved frames (RFC 2326 §10.12) and answers each request in order through handle(); a writer
// draining a bounded queue in gathered writes (a slow TCP player loses its own media, never stalls anyone
// else); and a once-a-second tick for session timeouts that also closes a connection idle for two timeouts.
// Subclasses own their sessions and say what the requests mean.
//
// RTSP tunnelled in HTTP (the QuickTime scheme, http/rtsp_tunnel.hpp) is served on the same port: a
// connection whose first line is an HTTP/1.x request is a tunnel GET (it becomes the connection the
// replies and interleaved media go out on, its requests arrive through the POST) or a tunnel POST (its
// base64 body is decoded and handed to its GET, on the GET's event loop, one chunk at a time). The two are
// paired by their x-sessioncookie in one table for the process; a GET whose POST does not come within
// k_tunnel_post_wait is closed. Over a tunnel only interleaved transports are set up (461 otherwise).
//
// RTSP over WebSocket (ONVIF Streaming Specification section 5.1.1.5) is served on the same port too: an
// HTTP GET asking to upgrade to a WebSocket (subprotocol rtsp.onvif.org) is answered 101 when its Origin,
// if any, is allowed (allow_websocket_origins); from then on the client's messages carry its RTSP byte
// stream and each reply and interleaved frame goes out as one binary message. Media is interleaved only,
// as in a tunnel.
//
// On a TLS listener (rtsps://, RFC 7826 §4.2) the connection first completes its TLS handshake (within
// k_tls_handshake_wait) and then reads and writes everything, tunnels included, through TLS.

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/byte_io.hpp"
#include "http/http_request.hpp"
#include "net/admission.hpp"
#include "net/rate_limited_log.hpp"
#include "rtsp/message.hpp"
#include "rtsp/session_header.hpp"
#include "tls/maybe_tls_stream.hpp"
#include "websocket/codec.hpp"

namespace sg::server {

class RtspServerConnection : public std::enable_shared_from_this<RtspServerConnection> {
public:
    using Clock = std::chrono::steady_clock;

    RtspServerConnection(asio::ip::tcp::socket socket, std::size_t max_queued_bytes,
                         Clock::duration session_timeout);
    virtual ~RtspServerConnection();
    RtspServerConnection(const RtspServerConnection&) = delete;
    RtspServerConnection& operator=(const RtspServerConnection&) = delete;

    // Speak TLS with `context` (a server context, shared by the listener); before start().
    void use_tls(asio::ssl::context& context) { stream_.enable(context); }
    // The Origins whose pages may open RTSP over WebSocket (websocket::origin_allowed); before start().
    void allow_websocket_origins(std::vector<std::string> origins) {
        websocket_origins_ = std::move(origins);
    }
    void start();
    // Keeps the connection's place under its listener's caps until the connection closes.
    void hold(net::Admission::Slot slot) { slot_ = std::move(slot); }
    // Ends the connection now: on_close(), then the socket goes. Idempotent.
    void close(std::string_view reason);
    // Ends it once what is queued has been written (a final reply, RTCP BYEs, a WebSocket's close frame):
    // on_closing() now.
    void close_after_flush(std::string reason);
    // Queues one interleaved frame; false (nothing queued) when closing or when the queue is full.
    bool queue_interleaved(std::uint8_t channel, Bytes frame);
    // Writes shared by a fan-out (proxy::Mount::end_batch): queue_interleaved_deferred() queues a frame as
    // queue_interleaved() does but does not wake the writer. write_deferred() then writes what is queued
    // with one non-blocking send, if no write is in flight and the connection has no TLS; it may run on
    // another thread, while this connection's loop runs nothing else. end_deferred(), on the loop, wakes
    // the writer for what the socket did not take. A fan-out to hundreds of TCP players so costs one send
    // per player and batch, without a coroutine resumed for each, and the sends can be spread over threads.
    bool queue_interleaved_deferred(std::uint8_t channel, Bytes frame);
    // Something was queued deferred since the last end_deferred().
    bool deferred_pending() const noexcept { return wake_deferred_; }
    void write_deferred() noexcept;
    void end_deferred();
    // The connection's event loop: close() and everything else run there.
    asio::any_io_executor executor() { return socket_.get_executor(); }

    // How long a tunnel GET waits for its first POST.
    static constexpr std::chrono::seconds k_tunnel_post_wait{10};
    // How long a TLS client may take for its handshake.
    static constexpr std::chrono::seconds k_tls_handshake_wait{10};

protected:
    // The reply to `request` (CSeq and Server are added here). Runs on the reader: the next request waits.
    virtual asio::awaitable<rtsp::Response> handle(const rtsp::Request& request) = 0;
    // Ends the sessions silent for longer than the session timeout; returns how many remain.
    virtual std::size_t expire_sessions(Clock::time_point now, Clock::duration timeout) = 0;
    // An interleaved frame arrived (RTCP from a TCP player, a publisher's media); `frame` views the read
    // buffer, valid during the call only.
    virtual void on_interleaved(const rtsp::InterleavedFrame& /*frame*/) {}
    // After the interleaved frames of one read, before anything else is handled: what they fed can be
    // acted on together (a publisher's media written to a mount's players).
    virtual void on_interleaved_done() {}
    virtual void on_bad_message() {}  // a malformed message: answered 400, then closed
    virtual void on_reply(const rtsp::Response& /*response*/) {}  // each reply, as it is queued
    // Each reply once it is queued: interleaved media that must follow it (a proxy player's GOP burst after
    // its PLAY reply) can be queued now.
    virtual void on_replied() {}
    virtual void on_closing(std::string_view /*reason*/) {}
    virtual void on_close(std::string_view reason) = 0;

    void queue_text(std::string_view text);

public:
    // Read by the request handlers a connection delegates to (server::FileSessions).
    // A session that just expired: the client may still come back and hear 454 rather than find the door
    // shut.
    void note_activity() noexcept { last_request_ = Clock::now(); }
    bool is_open() const noexcept { return open_ && !close_when_flushed_; }
    const std::string& peer() const noexcept { return peer_; }
    const asio::ip::address& peer_address() const noexcept { return peer_address_; }
    const asio::ip::address& local_address() const noexcept { return local_address_; }  // as the socket says

private:
    enum class Mode : std::uint8_t { undecided, plain, tunnel_get, tunnel_post, websocket };

    asio::awaitable<void> read_loop();
    // The server side of the TLS handshake, bounded by k_tls_handshake_wait; false (closed) when it failed.
    asio::awaitable<bool> tls_handshake();
    asio::awaitable<void> write_loop();
    asio::awaitable<void> tick_loop();
    // Queues bytes of the RTSP stream (framed as a WebSocket message on a WebSocket).
    void queue(Bytes bytes);
    // Queues bytes as they go on the wire.
    void queue_raw(Bytes bytes);
    // Counts what was appended to out_ since it held `before` octets, and wakes the writer if it sleeps.
    void appended(std::size_t before);
    // Parses and answers the complete requests at the start of `in`, then erases them; false when the
    // connection stops reading (closed, or closing after a 400).
    asio::awaitable<bool> answer_requests(std::vector<std::uint8_t>& in);
    // The HTTP head at the start of `in` (a tunnel GET or POST): answered, and the mode set; false when
    // the connection is closing.
    bool open_tunnel(std::vector<std::uint8_t>& in);
    void refuse_tunnel(int status, std::string_view why);
    // The handshake of RTSP over WebSocket, `request` (the first `consumed` bytes of `in`): answered 101
    // and the mode set, or refused; false when the connection is closing.
    bool open_websocket(const http::Request& request, std::size_t consumed, std::vector<std::uint8_t>& in);
    void refuse_websocket(int status, std::string_view why);
    // WebSocket: decodes `raw` and answers the requests it completes; false when the connection stops
    // reading.
    asio::awaitable<bool> websocket_received(Bytes raw);
    // Tunnel GET: answers the requests its POSTs hand over; closes when the first POST does not come.
    asio::awaitable<void> tunnel_loop();
    // Tunnel GET, on its own loop: takes decoded request bytes from `post` and returns once they have been
    // answered (the POST reads no more until then); false when the GET is gone.
    asio::awaitable<bool> tunnel_feed(std::vector<std::uint8_t> bytes,
                                      std::weak_ptr<RtspServerConnection> post);
    // Tunnel POST: decodes its body and hands it to its GET.
    asio::awaitable<void> post_loop(std::vector<std::uint8_t> in);

    asio::ip::tcp::socket socket_;
    tls::MaybeTlsStream stream_{socket_};  // socket_ itself or TLS over it
    std::size_t max_queued_bytes_;
    Clock::duration session_timeout_;
    std::string peer_;
    asio::ip::address peer_address_;
    asio::ip::address local_address_;
    // Queued octets, one contiguous buffer: a frame costs a copy into it, not an allocation, and the writer
    // takes all of it in one write (swapped with the buffer of the previous write, so both are reused).
    std::vector<std::uint8_t> out_;
    std::size_t queued_bytes_ = 0;             // out_ plus the write in flight
    std::vector<std::uint8_t> frame_scratch_;  // WebSocket: an interleaved frame before its message framing
    asio::steady_timer wake_writer_;
    bool writer_asleep_ = false;  // write_loop waits on wake_writer_: only then is a wake-up worth its cost
    bool defer_wake_ = false;     // inside queue_interleaved_deferred(): appended() leaves the writer asleep
    bool wake_deferred_ = false;  // queued deferred since the last end_deferred()
    asio::steady_timer tick_;
    bool open_ = true;
    bool close_when_flushed_ = false;
    std::string close_reason_;
    Clock::time_point last_request_ = Clock::now();
    net::Admission::Slot slot_;

    Mode mode_ = Mode::undecided;
    std::string tunnel_cookie_;
    std::uint64_t tunnel_generation_ = 0;              // POST: its claim on the cookie
    std::weak_ptr<RtspServerConnection> tunnel_get_;   // POST: its GET (on another loop, perhaps)
    std::weak_ptr<RtspServerConnection> tunnel_post_;  // GET: the POST feeding it now
    std::vector<std::uint8_t> tunnel_in_;              // GET: request bytes not answered yet
    bool tunnel_pending_ = false;                      // GET: tunnel_in_ has bytes not parsed yet
    bool tunnel_posted_ = false;                       // GET: a POST has come
    asio::steady_timer tunnel_wake_;                   // GET: wakes tunnel_loop
    asio::steady_timer tunnel_drained_;                // GET: wakes tunnel_feed

    std::vector<std::string> websocket_origins_;
    std::unique_ptr<websocket::Codec> websocket_;  // set by the handshake
    std::vector<std::uint8_t> websocket_in_;       // RTSP bytes decoded, not answered yet
};

// The Transport header of a SETUP that arrived through an HTTP tunnel, where media can only be interleaved:
// the offered specs with TCP as their lower transport, nothing when none is (answer 461), or the header as
// it is when it does not parse (the handler answers that).
std::optional<std::string> tunnel_transport(const std::string& transport);

// Connection caps of an RTSP listener (serve, the gateway's RTSP proxy); 0 = no limit.
struct RtspConnectionCaps {
    std::uint32_t max_connections = 4096;
    std::uint32_t max_connections_per_client = 256;
};

// Applies the caps at accept. A connection over them is answered `RTSP/1.0 503 Service Unavailable` with
// Retry-After and its first request's CSeq, then closed (closed without a word when no request arrives
// within the wait), counted and logged rate-limited. Admitted connections hold a slot until they close
// (RtspServerConnection::hold).
class RtspListenerCaps {
public:
    // `listener` names the listener in log lines ("serve", "rtsp proxy").
    RtspListenerCaps(std::string_view listener, RtspConnectionCaps caps);

    // The slot of a newly accepted connection, or an empty slot when it is over the caps; the socket has
    // then been taken by the coroutine that answers 503 (on a TLS listener, where a plain-text 503 would
    // mean nothing to the client, it is closed instead).
    net::Admission::Slot admit(asio::ip::tcp::socket& socket, bool answer_in_plain_text = true);

    void set_caps(RtspConnectionCaps caps);
    const std::atomic<std::uint64_t>& refused() const noexcept { return refused_; }
    std::uint64_t active() const { return admission_.active(); }

    // How long an over-the-cap connection may take to send its first request head, and the Retry-After
    // (seconds) of the 503.
    static constexpr std::chrono::seconds k_request_wait{2};
    static constexpr std::chrono::seconds k_retry_after{10};

private:
    std::string listener_;
    net::Admission admission_;
    std::atomic<std::uint64_t> refused_{0};
    net::RateLimitedLog log_;
};

// The answer to a connection over the caps, from the bytes it sent so far: need_more while its first
// request head is incomplete; done with the 503 (Retry-After, and the CSeq when the request has one);
// error when the bytes are not an RTSP request (close without a word).
Parsed<std::string> busy_reply(std::string_view received, std::chrono::seconds retry_after);

// A reply with only a status (the reason phrase is filled in when it is written).
inline rtsp::Response status_reply(int status) {
    rtsp::Response response;
    response.status = status;
    return response;
}

// The checks every request passes first: RTSP/1.0 (else 505), a valid CSeq (400), no Require (551, we
// implement no option tags). Nothing when the request may go on.
std::optional<rtsp::Response> check_request(const rtsp::Request& request);

// The session the request's Session header names, touched (requests keep a session alive, RFC 2326
// §12.37); nullptr with `status` 454 when there is none. `sessions` maps ids to shared_ptrs.
template <class Sessions>
typename Sessions::mapped_type find_named_session(Sessions& sessions, const rtsp::Request& request,
                                                  int& status) {
    if (const auto* header = request.headers.get("Session")) {
        if (const auto parsed = rtsp::parse_session(*header)) {
            if (const auto it = sessions.find(parsed->id); it != sessions.end()) {
                it->second->touch();
                return it->second;
            }
        }
    }
    status = 454;
    return nullptr;
}

// Ends (through `end`) and removes the sessions of `sessions` (a map of id -> shared_ptr) silent for longer
// than `timeout`; returns how many remain. For RtspServerConnection::expire_sessions().
template <class Sessions, class End>
std::size_t expire_idle_sessions(Sessions& sessions, RtspServerConnection::Clock::time_point now,
                                 RtspServerConnection::Clock::duration timeout, End end) {
    for (auto it = sessions.begin(); it != sessions.end();) {
        if (now - it->second->last_activity() > timeout) {
            end(*it->second);
            it = sessions.erase(it);
        } else {
            ++it;
        }
    }
    return sessions.size();
}

}  // namespace sg::server
