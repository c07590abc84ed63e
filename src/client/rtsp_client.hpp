#pragma once
// One RTSP control connection, client side: connect (directly or through a SOCKS5 CONNECT), send requests
// with increasing CSeq and the session id, wait for the reply with the same CSeq (answering one 401 with the
// URL's credentials), and hand interleaved "$" frames (RFC 2326 §10.12) that arrive meanwhile to a
// callback. Everything is sequential on the caller's coroutine: between requests, pump_until() keeps reading
// frames, so a player never needs a second reader on the socket.
//
// Failures are reported as short, stable reasons ("connect refused", "timeout", "connection closed") meant
// to be counted across many clients.
//
// With ConnectOptions::http_tunnel the control connection is the GET of an HTTP tunnel: everything written
// (requests, interleaved RTCP, answers to the server) goes base64-encoded on a second connection, the POST.
// With ConnectOptions::websocket it is upgraded to a WebSocket (ONVIF's RTSP over WebSocket, subprotocol
// rtsp.onvif.org; over TLS for rtsps:// URLs): everything written goes in masked binary messages, and what
// the server's messages carry is read as the RTSP byte stream.
//
// An rtsps:// URL (RFC 7826 §4.2) is RTSP over TLS: after connecting (directly or through SOCKS) the client
// does the TLS handshake, checking the server's certificate and name unless its TLS context says not to.

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/exchange.hpp"
#include "client/socks_connect.hpp"
#include "common/byte_io.hpp"
#include "net/endpoint.hpp"
#include "rtsp/message.hpp"
#include "rtsp/url.hpp"
#include "tls/maybe_tls_stream.hpp"
#include "websocket/codec.hpp"

namespace sg::client {

struct ConnectOptions {
    std::optional<net::HostPort> socks;  // reach the server through this SOCKS5 proxy
    SocksCredentials socks_credentials;
    std::chrono::milliseconds timeout{10000};  // for connecting and for each request
    // RTSP tunnelled in HTTP (the QuickTime scheme): replies and interleaved media on a GET connection,
    // requests base64-encoded on a POST connection with the same x-sessioncookie.
    bool http_tunnel = false;
    // RTSP over WebSocket (ONVIF): the connection upgraded by an HTTP GET to the URL's path.
    bool websocket = false;
    // For rtsps:// URLs (client context, tls::make_client_context); nullptr: verify against the system's CAs.
    std::shared_ptr<asio::ssl::context> tls;
};

class RtspClient {
public:
    using Clock = std::chrono::steady_clock;
    using FrameHandler = std::function<void(std::uint8_t channel, Bytes payload)>;

    explicit RtspClient(const asio::any_io_executor& executor);

    // Connects to the URL's host and port. On failure error() says why.
    asio::awaitable<bool> connect(rtsp::Url url, ConnectOptions options);

    // Sends a request and returns the reply with its CSeq, whatever its status. A 401 is retried once with
    // credentials when the URL had some. Nothing (and error()) when the exchange itself failed.
    asio::awaitable<std::optional<rtsp::Response>> request(std::string method, std::string uri,
                                                           rtsp::Headers extra = {});

    // Reads and dispatches interleaved frames until `deadline`. False when the connection failed first.
    asio::awaitable<bool> pump_until(Clock::time_point deadline);

    // Sends one interleaved frame (RTCP receiver reports in TCP mode).
    asio::awaitable<bool> send_frame(std::uint8_t channel, Bytes payload);

    void set_frame_handler(FrameHandler handler) { on_frame_ = std::move(handler); }
    // Called once the frames that arrived together (one read's worth) have all been handed to the frame
    // handler: a fan-out can write what they queued at once (proxy::Mount::end_batch).
    void set_frames_done_handler(std::function<void()> handler) { on_frames_done_ = std::move(handler); }
    void set_session(std::string id) { session_ = std::move(id); }
    const std::string& session() const noexcept { return session_; }
    const std::string& error() const noexcept { return error_; }
    asio::ip::tcp::socket& socket() noexcept { return socket_; }
    // The address the server sees us at / where it is (for UDP media, the same family).
    const asio::ip::tcp::endpoint& local_endpoint() const noexcept { return local_; }
    const asio::ip::tcp::endpoint& remote_endpoint() const noexcept { return remote_; }
    void close();

private:
    // Dispatches buffered items. Returns the reply with `cseq` when it is among them.
    std::optional<rtsp::Response> drain(std::optional<std::uint32_t> cseq, bool& broken);
    // drain()'s work; `dispatched` says whether a frame went to the frame handler.
    std::optional<rtsp::Response> drain_items(std::optional<std::uint32_t> cseq, bool& broken,
                                              bool& dispatched);
    // Reads more bytes before `deadline`; false (with error_) on timeout or a failed connection.
    asio::awaitable<bool> read_more(Clock::time_point deadline);
    asio::awaitable<bool> write(std::string_view data, Clock::time_point deadline);
    asio::awaitable<std::optional<rtsp::Response>> exchange(const rtsp::Request& request);
    // Bounds the next operations by closing the socket at `deadline`.
    void arm(Clock::time_point deadline);
    void disarm();
    void fail(std::string reason);
    // Connects `socket` to the server (through SOCKS when configured); a failure reason or "".
    asio::awaitable<std::string> open(asio::ip::tcp::socket& socket, const rtsp::Url& url,
                                      const ConnectOptions& options);
    // The TLS handshake on the connected socket_; false with error_ set when it failed.
    asio::awaitable<bool> start_tls(const rtsp::Url& url, const ConnectOptions& options);
    // Turns the connected socket_ into a tunnel GET and opens its POST.
    asio::awaitable<bool> open_tunnel(const rtsp::Url& url, const ConnectOptions& options);
    // Upgrades the connected socket_ (or its TLS) to a WebSocket.
    asio::awaitable<bool> open_websocket(const rtsp::Url& url);
    // Reads an HTTP answer head (up to its empty line, at most 16 KiB) into `head`; what follows stays in
    // the buffer. False with error_ set on a timeout or a closed connection.
    asio::awaitable<bool> read_http_head(Clock::time_point deadline, std::string& head);
    // WebSocket: reads, decodes into the buffer and answers pings; false (with error_) when it failed.
    asio::awaitable<bool> read_websocket(Clock::time_point deadline);
    // WebSocket: decodes bytes received and writes the answers the server is owed.
    asio::awaitable<bool> websocket_received(Bytes raw, Clock::time_point deadline);
    // Makes room for `need` more bytes behind the unparsed ones (moving them to the front, growing the
    // buffer); false (with error_) past the buffer limit.
    bool make_room(std::size_t need);
    // Appends decoded bytes behind the unparsed ones; false (with error_) past the buffer limit.
    bool append_input(Bytes bytes);
    // Writes bytes as they go on the wire (socket_ or TLS, or the POST when tunnelled).
    asio::awaitable<bool> write_on_wire(asio::const_buffer bytes, Clock::time_point deadline);

    asio::ip::tcp::socket socket_;
    std::shared_ptr<asio::ssl::context> tls_context_;  // kept while stream_ uses it
    tls::MaybeTlsStream stream_{socket_};              // socket_ itself, or TLS over it (rtsps://)
    asio::ip::tcp::socket post_;                       // the tunnel's POST (http_tunnel only)
    bool tunnelled_ = false;
    std::unique_ptr<websocket::Codec> websocket_;  // set once the WebSocket handshake succeeded
    asio::ip::tcp::resolver resolver_;
    asio::steady_timer timer_;
    std::uint64_t timer_generation_ = 0;
    bool timed_out_ = false;
    asio::ip::tcp::endpoint local_;
    asio::ip::tcp::endpoint remote_;
    std::chrono::milliseconds timeout_{10000};
    std::vector<std::uint8_t> in_;
    std::size_t in_begin_ = 0;
    std::size_t in_end_ = 0;
    std::vector<std::string> replies_to_send_;  // answers to server requests, written before the next read
    std::uint32_t cseq_ = 0;
    std::string session_;
    std::string error_;
    Authenticator auth_;
    FrameHandler on_frame_;
    std::function<void()> on_frames_done_;
};

}  // namespace sg::client
