#include "client/rtsp_client.hpp"

#include <array>
#include <asio/connect.hpp>
#include <asio/write.hpp>
#include <cstdio>
#include <cstring>
#include <random>
#include <tuple>
#include <variant>

#include "common/units.hpp"
#include "net/use_tuple.hpp"
#include "rtsp/auth.hpp"
#include "rtsp/simple_headers.hpp"
#include "tls/tls_context.hpp"
#include "websocket/handshake.hpp"

namespace sg::client {
namespace {

// Thousands of mostly idle connections (a load test's UDP players read a reply every few seconds) must not
// cost a large buffer each: it starts small, doubles when a message does not fit, and doubles up to
// k_busy_buffer when reads keep filling it (interleaved media), so a busy connection still reads in
// large pieces.
constexpr std::size_t k_initial_buffer = 4 * k_kib;
constexpr std::size_t k_min_read_room = 1 * k_kib;
constexpr std::size_t k_busy_buffer = 64 * k_kib;
// Largest message the parser accepts (headers + 4 MiB body) plus a read's worth of slack.
constexpr std::size_t k_max_buffer = 5 * k_mib;

std::string connect_failure(const asio::error_code& ec) {
    if (ec == asio::error::connection_refused) return "connect refused";
    if (ec == asio::error::host_unreachable || ec == asio::error::network_unreachable)
        return "connect unreachable";
    if (ec == asio::error::no_descriptors) return "too many open files (raise ulimit -n)";
    if (ec == asio::error::address_in_use || ec == std::errc::address_not_available)
        return "no local port (widen net.ipv4.ip_local_port_range)";
    return "connect failed: " + ec.message();
}

// The Host field of the tunnel's and the WebSocket's HTTP requests: the RTSP port always, since HTTP's
// default port is not RTSP's.
std::string host_field(const rtsp::Url& url) {
    return (url.is_ipv6() ? "[" + url.host + "]" : url.host) + ":" + std::to_string(url.effective_port());
}

}  // namespace

RtspClient::RtspClient(const asio::any_io_executor& executor)
    : socket_(executor), post_(executor), resolver_(executor), timer_(executor) {}

void RtspClient::arm(Clock::time_point deadline) {
    const auto generation = ++timer_generation_;
    timed_out_ = false;
    timer_.expires_at(deadline);
    // A plain handler (not a coroutine): it only has to stop whatever operation is pending when time is up.
    timer_.async_wait([this, generation](const asio::error_code& ec) {
        if (ec || generation != timer_generation_) return;
        timed_out_ = true;
        asio::error_code ignored;
        socket_.cancel(ignored);
        post_.cancel(ignored);
        resolver_.cancel();
    });
}

void RtspClient::disarm() {
    ++timer_generation_;
    timer_.cancel();
}

void RtspClient::fail(std::string reason) {
    if (error_.empty()) error_ = std::move(reason);
}

void RtspClient::close() {
    disarm();
    asio::error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    post_.close(ignored);
}

asio::awaitable<std::string> RtspClient::open(asio::ip::tcp::socket& socket, const rtsp::Url& url,
                                              const ConnectOptions& options) {
    const std::string host = options.socks ? options.socks->host : url.host;
    const std::uint16_t port = options.socks ? options.socks->port : url.effective_port();
    const auto service = std::to_string(port);
    auto [resolve_error, endpoints] = co_await resolver_.async_resolve(host, service, net::k_use_tuple);
    if (resolve_error) co_return timed_out_ ? "resolve timeout" : "resolve failed";
    auto [connect_error, peer] = co_await asio::async_connect(socket, endpoints, net::k_use_tuple);
    if (connect_error) {
        // Through a proxy, say so: "connect refused" would otherwise read as the RTSP server refusing.
        const std::string prefix = options.socks ? "socks proxy " : "";
        co_return prefix + (timed_out_ ? "connect timeout" : connect_failure(connect_error));
    }
    if (options.socks) {
        // g++ 12 mishandles temporaries with destructors in a full-expression holding co_await: the
        // coroutine (which copies its arguments) is created in one statement and awaited in the next.
        auto handshake = socks5_connect(socket, url.host, url.effective_port(), options.socks_credentials);
        auto reason = co_await std::move(handshake);
        if (!reason.empty()) co_return timed_out_ ? "socks timeout" : reason;
    }
    asio::error_code ec;
    socket.set_option(asio::ip::tcp::no_delay(true), ec);
    co_return "";
}

asio::awaitable<bool> RtspClient::connect(rtsp::Url url, ConnectOptions options) {
    timeout_ = options.timeout;
    if (!url.user.empty()) auth_ = Authenticator(url.user, url.password);
    const auto deadline = Clock::now() + timeout_;
    arm(deadline);
    auto opening = open(socket_, url, options);
    const auto reason = co_await std::move(opening);
    disarm();
    if (!reason.empty()) {
        fail(reason);
        co_return false;
    }
    asio::error_code ec;
    local_ = socket_.local_endpoint(ec);
    remote_ = socket_.remote_endpoint(ec);
    if (ec) {
        fail("connection closed");
        co_return false;
    }
    if (options.http_tunnel && options.websocket) {
        fail("http tunnel and websocket are exclusive");
        co_return false;
    }
    if (url.is_tls()) {
        auto handshake = start_tls(url, options);
        if (!co_await std::move(handshake)) co_return false;
    }
    if (options.http_tunnel) {
        auto tunnel = open_tunnel(url, options);
        if (!co_await std::move(tunnel)) co_return false;
    }
    if (options.websocket) {
        auto upgrade = open_websocket(url);
        if (!co_await std::move(upgrade)) co_return false;
    }
    co_return true;
}

asio::awaitable<bool> RtspClient::start_tls(const rtsp::Url& url, const ConnectOptions& options) {
    if (options.http_tunnel) {
        fail("http tunnel over rtsps not supported");
        co_return false;
    }
    tls_context_ = options.tls;
    if (!tls_context_) {
        std::string error;
        tls_context_ = tls::make_client_context({}, error);
        if (!tls_context_) {
            fail("tls: " + error);
            co_return false;
        }
    }
    stream_.enable(*tls_context_);
    stream_.expect_server(url.host);
    arm(Clock::now() + timeout_);
    auto [ec] = co_await stream_.tls().async_handshake(asio::ssl::stream_base::client, net::k_use_tuple);
    disarm();
    if (ec) {
        // "tls: certificate verify failed", "tls: wrong version number" (a plain RTSP server), ...
        fail(timed_out_ ? "tls handshake timeout" : "tls: " + ec.message());
        co_return false;
    }
    co_return true;
}

asio::awaitable<bool> RtspClient::open_tunnel(const rtsp::Url& url, const ConnectOptions& options) {
    const auto deadline = Clock::now() + timeout_;
    static thread_local std::mt19937_64 generator{std::random_device{}()};
    std::array<char, 17> cookie{};
    std::snprintf(cookie.data(), cookie.size(), "%016llx",  // NOLINT(cppcoreguidelines-pro-type-vararg)
                  static_cast<unsigned long long>(generator()));
    const std::string path = url.path.empty() ? "/" : url.path;
    const std::string common = "Host: " + host_field(url) +
                               "\r\nx-sessioncookie: " + std::string(cookie.data()) +
                               "\r\nPragma: no-cache\r\nCache-Control: no-cache\r\n";
    const std::string get =
        "GET " + path + " HTTP/1.0\r\n" + common + "Accept: application/x-rtsp-tunnelled\r\n\r\n";
    if (!co_await write(get, deadline)) co_return false;
    // The answer's head; what follows it (RTSP replies, frames) stays in the buffer.
    std::string head;
    if (!co_await read_http_head(deadline, head)) co_return false;
    if (!head.starts_with("HTTP/1.0 200") && !head.starts_with("HTTP/1.1 200")) {
        fail("http tunnel refused");
        co_return false;
    }
    arm(deadline);
    auto opening = open(post_, url, options);
    const auto reason = co_await std::move(opening);
    disarm();
    if (!reason.empty()) {
        fail(reason);
        co_return false;
    }
    tunnelled_ = true;
    const std::string post = "POST " + path + " HTTP/1.0\r\n" + common +
                             "Content-Type: application/x-rtsp-tunnelled\r\nContent-Length: 32767\r\n"
                             "Expires: Sun, 9 Jan 1972 00:00:00 GMT\r\n\r\n";
    arm(deadline);
    auto [ec, n] = co_await asio::async_write(post_, asio::buffer(post), net::k_use_tuple);
    disarm();
    if (ec) {
        fail(timed_out_ ? "timeout" : "connection closed");
        co_return false;
    }
    co_return true;
}

asio::awaitable<bool> RtspClient::read_http_head(Clock::time_point deadline, std::string& head) {
    for (;;) {
        const std::string_view received(reinterpret_cast<const char*>(in_.data() + in_begin_),
                                        in_end_ - in_begin_);
        const auto end = received.find("\r\n\r\n");
        if (end != std::string_view::npos) {
            head.assign(received.substr(0, end + 4));
            in_begin_ += end + 4;
            co_return true;
        }
        if (received.size() > 16 * k_kib) {
            fail("http answer too long");
            co_return false;
        }
        if (!co_await read_more(deadline)) {
            fail(timed_out_ ? "timeout" : "connection closed");
            co_return false;
        }
    }
}

asio::awaitable<bool> RtspClient::open_websocket(const rtsp::Url& url) {
    const auto deadline = Clock::now() + timeout_;
    const auto key = websocket::make_key();
    if (!co_await write(websocket::client_request(url.path, host_field(url), key), deadline)) co_return false;
    std::string head;
    if (!co_await read_http_head(deadline, head)) co_return false;
    if (const auto why = websocket::check_reply(head, key)) {
        fail("websocket " + std::string(*why));
        co_return false;
    }
    websocket_ = std::make_unique<websocket::Codec>(websocket::Role::client);
    // Frames that came with the answer are the first of the stream.
    const std::vector<std::uint8_t> raw(in_.begin() + static_cast<std::ptrdiff_t>(in_begin_),
                                        in_.begin() + static_cast<std::ptrdiff_t>(in_end_));
    in_begin_ = in_end_ = 0;
    if (raw.empty()) co_return true;
    co_return co_await websocket_received(raw, deadline);
}

bool RtspClient::make_room(std::size_t need) {
    if (in_.size() - in_end_ >= need) return true;
    if (in_begin_ > 0) {
        std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
        in_end_ -= in_begin_;
        in_begin_ = 0;
    }
    if (in_.size() - in_end_ >= need) return true;
    if (in_.size() >= k_max_buffer || in_end_ + need > k_max_buffer) {
        fail("RTSP message too long");
        return false;
    }
    in_.resize(std::max({in_.size() * 2, k_initial_buffer, in_end_ + need}));
    return true;
}

bool RtspClient::append_input(Bytes bytes) {
    if (!make_room(bytes.size())) return false;
    std::memcpy(in_.data() + in_end_, bytes.data(), bytes.size());
    in_end_ += bytes.size();
    return true;
}

asio::awaitable<bool> RtspClient::websocket_received(Bytes raw, Clock::time_point deadline) {
    std::vector<std::uint8_t> decoded;
    std::vector<std::uint8_t> control;
    const auto state = websocket_->feed(raw, decoded, control);
    if (!control.empty() && !co_await write_on_wire(asio::buffer(control), deadline)) co_return false;
    if (!append_input(decoded)) co_return false;
    if (state == websocket::Codec::State::closing) {
        fail(websocket_->close_received() ? "websocket closed by server"
                                          : "bad websocket frames from server");
        co_return false;
    }
    co_return true;
}

asio::awaitable<bool> RtspClient::read_websocket(Clock::time_point deadline) {
    std::array<std::uint8_t, 16 * k_kib> raw{};
    arm(deadline);
    auto [ec, n] = co_await stream_.async_read_some(asio::buffer(raw), net::k_use_tuple);
    disarm();
    if (ec) {
        if (!timed_out_) fail(ec == asio::error::eof ? "connection closed" : "connection reset");
        co_return false;
    }
    co_return co_await websocket_received(Bytes(raw.data(), n), deadline);
}

std::optional<rtsp::Response> RtspClient::drain(std::optional<std::uint32_t> cseq, bool& broken) {
    bool dispatched = false;
    auto reply = drain_items(cseq, broken, dispatched);
    if (dispatched && on_frames_done_) on_frames_done_();
    return reply;
}

std::optional<rtsp::Response> RtspClient::drain_items(std::optional<std::uint32_t> cseq, bool& broken,
                                                      bool& dispatched) {
    while (in_begin_ < in_end_) {
        auto parsed = rtsp::parse_item(Bytes(in_.data() + in_begin_, in_end_ - in_begin_));
        if (parsed.need_more()) break;
        if (parsed.failed()) {
            broken = true;
            return std::nullopt;
        }
        // Dispatch before consuming: a frame's payload points into the buffer.
        std::optional<rtsp::Response> match;
        if (auto* frame = std::get_if<rtsp::InterleavedFrame>(&parsed.value)) {
            if (on_frame_) {
                on_frame_(frame->channel, frame->payload);
                dispatched = true;
            }
        } else if (auto* reply = std::get_if<rtsp::Response>(&parsed.value)) {
            const auto* value = reply->headers.get("CSeq");
            if (cseq && value != nullptr) {
                const auto reply_cseq = rtsp::parse_cseq(*value);
                if (reply_cseq && *reply_cseq == *cseq) match = std::move(*reply);
            }
            // Any other reply is stale (an earlier request we gave up on): dropped.
        } else if (auto* request = std::get_if<rtsp::Request>(&parsed.value)) {
            // Server-to-client requests (RFC 2326 §10: ANNOUNCE, GET_PARAMETER...) are not supported by a
            // test player, but each one gets its answer so the server does not wait for it.
            rtsp::Response answer;
            answer.status = 501;
            if (const auto* request_cseq = request->headers.get("CSeq"))
                answer.headers.add("CSeq", *request_cseq);
            replies_to_send_.push_back(rtsp::to_string(answer));
        }
        in_begin_ += parsed.consumed;
        if (match) return match;
    }
    if (in_begin_ == in_end_) in_begin_ = in_end_ = 0;
    return std::nullopt;
}

asio::awaitable<bool> RtspClient::write(std::string_view data, Clock::time_point deadline) {
    if (tunnelled_) {
        const auto encoded = rtsp::base64_encode(data);  // everything the client says goes by the POST
        co_return co_await write_on_wire(asio::buffer(encoded), deadline);
    }
    if (websocket_) {
        std::vector<std::uint8_t> message;
        websocket_->frame_binary(Bytes(reinterpret_cast<const std::uint8_t*>(data.data()), data.size()),
                                 message);
        if (message.empty()) {  // our close frame has gone out
            fail("connection closed");
            co_return false;
        }
        co_return co_await write_on_wire(asio::buffer(message), deadline);
    }
    co_return co_await write_on_wire(asio::buffer(data), deadline);
}

asio::awaitable<bool> RtspClient::write_on_wire(asio::const_buffer bytes, Clock::time_point deadline) {
    arm(deadline);
    std::tuple<asio::error_code, std::size_t> written;
    if (tunnelled_) {
        written = co_await asio::async_write(post_, bytes, net::k_use_tuple);
    } else {
        written = co_await stream_.async_write(bytes, net::k_use_tuple);
    }
    const auto [ec, n] = written;
    disarm();
    if (ec) {
        fail(timed_out_ ? "timeout" : "connection closed");
        co_return false;
    }
    co_return true;
}

asio::awaitable<bool> RtspClient::read_more(Clock::time_point deadline) {
    while (!replies_to_send_.empty()) {
        const auto answer = std::move(replies_to_send_.back());
        replies_to_send_.pop_back();
        if (!co_await write(answer, deadline)) co_return false;
    }
    if (websocket_) co_return co_await read_websocket(deadline);
    if (!make_room(k_min_read_room)) co_return false;
    const std::size_t room = in_.size() - in_end_;
    arm(deadline);
    auto [ec, n] =
        co_await stream_.async_read_some(asio::buffer(in_.data() + in_end_, room), net::k_use_tuple);
    disarm();
    if (ec) {
        // A timeout is the caller's to name: an expected end for pump_until(), a failure for a request.
        if (!timed_out_) fail(ec == asio::error::eof ? "connection closed" : "connection reset");
        co_return false;
    }
    in_end_ += n;
    if (n == room && in_.size() < k_busy_buffer) in_.resize(std::min(in_.size() * 2, k_busy_buffer));
    co_return true;
}

asio::awaitable<std::optional<rtsp::Response>> RtspClient::exchange(const rtsp::Request& request) {
    const auto deadline = Clock::now() + timeout_;
    const auto cseq = cseq_;
    const auto text = rtsp::to_string(request);
    if (!co_await write(text, deadline)) co_return std::nullopt;
    for (;;) {
        bool broken = false;
        auto reply = drain(cseq, broken);
        if (reply) co_return reply;
        if (broken) {
            fail("bad RTSP from server");
            co_return std::nullopt;
        }
        if (!co_await read_more(deadline)) {
            if (timed_out_) fail("timeout");
            co_return std::nullopt;
        }
    }
}

asio::awaitable<std::optional<rtsp::Response>> RtspClient::request(std::string method, std::string uri,
                                                                   rtsp::Headers extra) {
    for (int attempt = 0; attempt < 2; ++attempt) {
        auto headers = extra;
        if (auto authorization = auth_.authorization(method, uri))
            headers.set("Authorization", *authorization);
        const auto request = make_request(method, uri, ++cseq_, session_, headers);
        auto reply = co_await exchange(request);
        if (!reply) co_return reply;
        if (reply->status == 401 && attempt == 0 && auth_.on_unauthorized(*reply)) continue;
        if (session_.empty()) {
            if (auto session = reply_session(*reply)) session_ = session->id;
        }
        co_return reply;
    }
    co_return std::nullopt;  // not reached: the second attempt always returns
}

asio::awaitable<bool> RtspClient::pump_until(Clock::time_point deadline) {
    for (;;) {
        bool broken = false;
        (void)drain(std::nullopt, broken);
        if (broken) {
            fail("bad RTSP from server");
            co_return false;
        }
        if (Clock::now() >= deadline) co_return true;
        if (!co_await read_more(deadline)) co_return timed_out_;
    }
}

asio::awaitable<bool> RtspClient::send_frame(std::uint8_t channel, Bytes payload) {
    std::vector<std::uint8_t> frame;
    if (!rtsp::append_interleaved(frame, channel, payload)) co_return false;
    const std::string_view data(reinterpret_cast<const char*>(frame.data()), frame.size());
    co_return co_await write(data, Clock::now() + timeout_);
}

}  // namespace sg::client
