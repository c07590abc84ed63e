#include "rtsp_server/rtsp_server_connection.hpp"

#include <sys/socket.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <asio/co_spawn.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <mutex>
#include <variant>

#include "common/units.hpp"
#include "http/base64_decoder.hpp"
#include "http/rtsp_tunnel.hpp"
#include "net/asio_endpoint.hpp"
#include "net/unhandled.hpp"
#include "net/use_tuple.hpp"
#include "rtsp/simple_headers.hpp"
#include "rtsp/transport.hpp"
#include "tls/tls_context.hpp"
#include "websocket/handshake.hpp"

namespace sg::server {
namespace {

constexpr std::size_t k_read_chunk = 16 * k_kib;
// Unparsed bytes a client may leave pending; the parser's own limits refuse a larger head long before.
constexpr std::size_t k_max_request_buffer = 64 * k_kib;
constexpr std::size_t k_kept_write_buffer = 256 * k_kib;  // a write buffer larger than this is not kept
// Tunnel cookies in the table at once: each tunnel is two connections, which the listener caps bound too.
constexpr std::size_t k_max_tunnels = 4096;

// The process's tunnels: a GET and its POST may be accepted on different listeners' loops.
struct TunnelTable {
    std::mutex mutex;
    http::TunnelCookies<std::weak_ptr<RtspServerConnection>> cookies{
        k_max_tunnels, RtspServerConnection::k_tunnel_post_wait};
};

TunnelTable& tunnel_table() {
    static TunnelTable table;
    return table;
}

net::RateLimitedLog& tunnel_log() {
    static net::RateLimitedLog log("rtsp over http: refused tunnels");
    return log;
}

net::RateLimitedLog& websocket_log() {
    static net::RateLimitedLog log("rtsp over websocket: refused handshakes");
    return log;
}

// The close status (RFC 6455 section 7.4.1) the server ends a WebSocket with: the RTSP side decided.
constexpr std::uint16_t k_close_normal = 1000;

}  // namespace

std::optional<std::string> tunnel_transport(const std::string& transport) {
    auto specs = rtsp::parse_transport(transport);
    if (!specs) return transport;
    std::vector<rtsp::TransportSpec> interleaved;
    for (auto& spec : *specs) {
        if (spec.is_tcp()) interleaved.push_back(std::move(spec));
    }
    if (interleaved.empty()) return std::nullopt;
    return rtsp::to_header_value(interleaved);
}

std::optional<rtsp::Response> check_request(const rtsp::Request& request) {
    if (request.version.major != 1 || request.version.minor != 0) return status_reply(505);
    const auto* cseq = request.headers.get("CSeq");
    if (cseq == nullptr || !rtsp::parse_cseq(*cseq)) return status_reply(400);
    if (const auto* require = request.headers.get("Require")) {
        auto response = status_reply(551);
        response.headers.set("Unsupported", *require);
        return response;
    }
    return std::nullopt;
}

RtspServerConnection::RtspServerConnection(asio::ip::tcp::socket socket, std::size_t max_queued_bytes,
                                           Clock::duration session_timeout)
    : socket_(std::move(socket)),
      max_queued_bytes_(max_queued_bytes),
      session_timeout_(session_timeout),
      wake_writer_(socket_.get_executor()),
      tick_(socket_.get_executor()),
      tunnel_wake_(socket_.get_executor()),
      tunnel_drained_(socket_.get_executor()) {
    std::error_code ec;
    const auto remote = socket_.remote_endpoint(ec);
    peer_ = ec ? "?" : net::to_string(remote);
    peer_address_ = net::unmap(remote.address());
    local_address_ = socket_.local_endpoint(ec).address();
}

RtspServerConnection::~RtspServerConnection() {
    // A tunnel GET destroyed without closing (its loop stopped) must not keep its cookie taken.
    if (open_ && mode_ == Mode::tunnel_get) {
        auto& table = tunnel_table();
        const std::lock_guard lock(table.mutex);
        table.cookies.remove(tunnel_cookie_);
    }
}

void RtspServerConnection::start() {
    auto self = shared_from_this();
    const auto on_exception = net::log_unhandled(net::Unhandled::rtsp_connection);
    asio::co_spawn(
        socket_.get_executor(), [self] { return self->read_loop(); }, on_exception);
    asio::co_spawn(
        socket_.get_executor(), [self] { return self->write_loop(); }, on_exception);
    asio::co_spawn(
        socket_.get_executor(), [self] { return self->tick_loop(); }, on_exception);
}

void RtspServerConnection::close(std::string_view reason) {
    if (!open_) return;
    open_ = false;
    on_close(reason);
    std::error_code ec;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    wake_writer_.cancel();
    tick_.cancel();
    tunnel_wake_.cancel();
    tunnel_drained_.cancel();
    slot_ = net::Admission::Slot{};  // a closed connection no longer counts against the caps
    if (mode_ == Mode::tunnel_get) {
        {
            auto& table = tunnel_table();
            const std::lock_guard lock(table.mutex);
            table.cookies.remove(tunnel_cookie_);
        }
        // Its POST lives on its own loop.
        if (auto post = tunnel_post_.lock()) {
            asio::post(post->executor(), [post] { post->close("tunnel GET closed"); });
        }
    } else if (mode_ == Mode::tunnel_post) {
        auto& table = tunnel_table();
        const std::lock_guard lock(table.mutex);
        table.cookies.release(tunnel_cookie_, tunnel_generation_);
    }
    spdlog::debug("rtsp connection {} closed: {}", peer_, reason);
}

void RtspServerConnection::close_after_flush(std::string reason) {
    if (!open_ || close_when_flushed_) return;
    if (websocket_) {
        const std::size_t before = out_.size();
        websocket_->frame_close(k_close_normal, out_);  // nothing when the client's close was answered
        appended(before);
    }
    close_reason_ = std::move(reason);
    close_when_flushed_ = true;
    on_closing(close_reason_);
    wake_writer_.cancel();
}

void RtspServerConnection::queue(Bytes bytes) {
    const std::size_t before = out_.size();
    if (websocket_) {
        websocket_->frame_binary(bytes, out_);  // nothing once the close handshake has begun
    } else {
        out_.insert(out_.end(), bytes.begin(), bytes.end());
    }
    appended(before);
}

void RtspServerConnection::queue_raw(Bytes bytes) {
    const std::size_t before = out_.size();
    out_.insert(out_.end(), bytes.begin(), bytes.end());
    appended(before);
}

void RtspServerConnection::appended(std::size_t before) {
    queued_bytes_ += out_.size() - before;
    // A writer in the middle of a write finds the new bytes when it comes back; waking it costs a timer
    // cancellation and a handler per frame, which a fan-out to hundreds of TCP players pays per packet.
    if (writer_asleep_ && out_.size() > before && !defer_wake_) wake_writer_.cancel();
}

void RtspServerConnection::queue_text(std::string_view text) {
    queue(Bytes(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

bool RtspServerConnection::queue_interleaved(std::uint8_t channel, Bytes frame) {
    if (!is_open() || queued_bytes_ + frame.size() > max_queued_bytes_) return false;
    if (websocket_) {
        frame_scratch_.clear();
        if (!rtsp::append_interleaved(frame_scratch_, channel, frame)) return false;
        queue(frame_scratch_);
        return true;
    }
    const std::size_t before = out_.size();
    if (!rtsp::append_interleaved(out_, channel, frame)) return false;  // checks the size before appending
    appended(before);
    return true;
}

bool RtspServerConnection::queue_interleaved_deferred(std::uint8_t channel, Bytes frame) {
    defer_wake_ = true;
    const bool queued = queue_interleaved(channel, frame);
    defer_wake_ = false;
    wake_deferred_ = wake_deferred_ || queued;
    return queued;
}

void RtspServerConnection::write_deferred() noexcept {
    // Only while the writer sleeps: with a write in flight these bytes would overtake its. Not under TLS,
    // whose records only the stream can make.
    if (!wake_deferred_ || !open_ || !writer_asleep_ || stream_.is_tls() || out_.empty()) return;
    const ssize_t sent =
        ::send(socket_.native_handle(), out_.data(), out_.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent <= 0) return;  // it would block, or failed: the writer meets the same and acts on it
    const auto n = static_cast<std::size_t>(sent);
    out_.erase(out_.begin(), out_.begin() + static_cast<std::ptrdiff_t>(n));
    queued_bytes_ -= std::min(queued_bytes_, n);
}

void RtspServerConnection::end_deferred() {
    if (!wake_deferred_) return;
    wake_deferred_ = false;
    if (writer_asleep_ && !out_.empty()) wake_writer_.cancel();
}

asio::awaitable<void> RtspServerConnection::write_loop() {
    const auto self = shared_from_this();
    std::vector<std::uint8_t> writing;
    while (open_) {
        if (out_.empty()) {
            if (close_when_flushed_) {
                close(close_reason_);
                co_return;
            }
            wake_writer_.expires_at(Clock::time_point::max());
            writer_asleep_ = true;
            co_await wake_writer_.async_wait(net::k_use_tuple);
            writer_asleep_ = false;
            continue;
        }
        // Everything queued goes out in one write (with TLS: records of up to 16 KiB, not one per frame).
        writing.clear();
        std::swap(writing, out_);
        auto [ec, n] = co_await stream_.async_write(asio::buffer(writing), net::k_use_tuple);
        queued_bytes_ -= std::min(queued_bytes_, n);
        if (ec) {
            close("write failed: " + ec.message());
            co_return;
        }
        // A burst (a GOP sent to a joining player) may have grown the buffer far past what one packet needs.
        if (writing.capacity() > k_kept_write_buffer) writing = std::vector<std::uint8_t>();
    }
}

asio::awaitable<void> RtspServerConnection::tick_loop() {
    const auto self = shared_from_this();
    while (open_) {
        tick_.expires_after(std::chrono::seconds(1));
        co_await tick_.async_wait(net::k_use_tuple);
        if (!open_) co_return;
        const auto now = Clock::now();
        // A connection holding no session is only there to talk; one silent for two timeouts is gone (the
        // second one lets a client whose session expired still hear 454).
        if (expire_sessions(now, session_timeout_) == 0 && now - last_request_ > 2 * session_timeout_)
            close("idle");
    }
}

asio::awaitable<void> RtspServerConnection::read_loop() {
    const auto self = shared_from_this();
    if (stream_.is_tls() && !co_await tls_handshake()) co_return;
    std::vector<std::uint8_t> in;
    std::array<std::uint8_t, k_read_chunk> chunk{};
    while (open_) {
        auto [ec, n] = co_await stream_.async_read_some(asio::buffer(chunk), net::k_use_tuple);
        if (ec) {
            close(ec == asio::error::eof ? "connection closed" : "connection lost: " + ec.message());
            co_return;
        }
        if (mode_ == Mode::tunnel_get)
            continue;  // the client says nothing more here; its requests come by POST
        if (mode_ == Mode::websocket) {
            if (!co_await websocket_received(Bytes(chunk.data(), n))) co_return;
            continue;
        }
        in.insert(in.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
        if (mode_ == Mode::undecided) {
            const std::string_view received(reinterpret_cast<const char*>(in.data()), in.size());
            const auto first = http::classify_first_bytes(received);
            if (first == http::FirstBytes::need_more) continue;
            if (first == http::FirstBytes::rtsp) {
                mode_ = Mode::plain;
            } else {
                if (!open_tunnel(in)) co_return;
                if (mode_ == Mode::undecided) continue;  // the head is not complete yet
                if (mode_ == Mode::tunnel_post) {
                    co_await post_loop(std::move(in));
                    co_return;
                }
                if (mode_ == Mode::websocket) {
                    // Frames may have come with the handshake.
                    const auto frames = std::move(in);
                    in.clear();
                    if (!frames.empty() && !co_await websocket_received(frames)) co_return;
                    continue;
                }
                in.clear();
                continue;
            }
        }
        if (!co_await answer_requests(in)) co_return;
    }
}

asio::awaitable<bool> RtspServerConnection::tls_handshake() {
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer deadline(socket_.get_executor());
    deadline.expires_after(k_tls_handshake_wait);
    auto result = co_await (stream_.tls().async_handshake(asio::ssl::stream_base::server, net::k_use_tuple) ||
                            deadline.async_wait(net::k_use_tuple));
    if (result.index() == 1) {
        close("tls handshake timeout");
        co_return false;
    }
    if (const auto [ec] = std::get<0>(result); ec) {
        // A plain-text RTSP client on the TLS port lands here ("wrong version number"), and is closed.
        close("tls handshake failed: " + tls::openssl_error(ec.message()));
        co_return false;
    }
    co_return true;
}

asio::awaitable<bool> RtspServerConnection::answer_requests(std::vector<std::uint8_t>& in) {
    std::size_t used = 0;
    bool frames = false;  // interleaved frames since the last on_interleaved_done()
    const auto frames_done = [this, &frames] {
        if (frames) on_interleaved_done();
        frames = false;
    };
    while (open_ && used < in.size()) {
        auto item = rtsp::parse_item(Bytes(in).subspan(used));
        if (item.need_more()) break;
        if (!std::holds_alternative<rtsp::InterleavedFrame>(item.value)) frames_done();
        if (item.failed()) {
            spdlog::debug("rtsp connection {}: bad message: {}", peer_, item.error);
            on_bad_message();
            queue_text(rtsp::to_string(status_reply(400)));
            close_after_flush("malformed request");  // the writer sends the 400, then closes
            co_return false;
        }
        used += item.consumed;
        if (const auto* request = std::get_if<rtsp::Request>(&item.value)) {
            last_request_ = Clock::now();
            // One request at a time, in order: a reply that waits (a file being opened, an upstream being
            // played) holds the next one. The request is copied out of `in`'s parse first (a tunnel's POST
            // may append to `in` meanwhile).
            rtsp::Request copy = *request;
            std::optional<rtsp::Response> refused;
            if ((mode_ == Mode::tunnel_get || mode_ == Mode::websocket) && copy.method == "SETUP") {
                if (const auto* transport = copy.headers.get("Transport")) {
                    if (auto interleaved = tunnel_transport(*transport)) {
                        copy.headers.set("Transport", *interleaved);
                    } else {
                        refused = status_reply(461);  // media cannot leave a tunnel but interleaved
                    }
                }
            }
            rtsp::Response response;
            if (refused) {
                response = std::move(*refused);
            } else {
                auto handling = handle(copy);
                response = co_await std::move(handling);
            }
            if (!open_) co_return false;
            if (const auto* cseq = copy.headers.get("CSeq")) response.headers.set("CSeq", *cseq);
            response.headers.set("Server", "streamgate");
            on_reply(response);
            queue_text(rtsp::to_string(response));
            on_replied();
        } else if (const auto* frame = std::get_if<rtsp::InterleavedFrame>(&item.value)) {
            on_interleaved(*frame);
            frames = true;
        }
        // Responses to us (a client answering a server request) are ignored: we send none.
    }
    frames_done();
    in.erase(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(used));
    if (in.size() > k_max_request_buffer) {
        close("request too large");
        co_return false;
    }
    co_return open_;
}

void RtspServerConnection::refuse_tunnel(int status, std::string_view why) {
    tunnel_log().warn("rtsp over http: {} refused ({}): {}", peer_, status, why);
    queue_text(http::tunnel_error_reply(status));
    close_after_flush(std::string("tunnel refused: ") + std::string(why));
}

bool RtspServerConnection::open_tunnel(std::vector<std::uint8_t>& in) {
    const std::string_view received(reinterpret_cast<const char*>(in.data()), in.size());
    {
        http::Limits limits;
        limits.content_length_body = true;  // a tunnel POST's; its parser below judges it
        const auto request = http::parse_request(received, limits);
        if (request.done() && websocket::is_upgrade(request.value))
            return open_websocket(request.value, request.consumed, in);
    }
    auto head = http::parse_tunnel_head(received);
    if (head.need_more()) return true;
    if (head.failed()) {
        refuse_tunnel(head.error_status, head.error);
        return false;
    }
    auto& table = tunnel_table();
    const auto now = Clock::now();
    if (head.value.role == http::TunnelRole::get) {
        http::TunnelCookies<std::weak_ptr<RtspServerConnection>>::Registered registered{};
        {
            const std::lock_guard lock(table.mutex);
            registered = table.cookies.register_get(head.value.cookie, weak_from_this(), now);
        }
        if (registered == http::TunnelCookies<std::weak_ptr<RtspServerConnection>>::Registered::in_use) {
            refuse_tunnel(400, "x-sessioncookie already in use");
            return false;
        }
        if (registered != http::TunnelCookies<std::weak_ptr<RtspServerConnection>>::Registered::ok) {
            refuse_tunnel(503, "too many tunnels");
            return false;
        }
        mode_ = Mode::tunnel_get;
        tunnel_cookie_ = std::move(head.value.cookie);
        queue_text(http::tunnel_get_reply());
        spdlog::debug("rtsp connection {}: tunnel GET {}", peer_, head.value.path);
        asio::co_spawn(
            executor(), [self = shared_from_this()] { return self->tunnel_loop(); },
            net::log_unhandled(net::Unhandled::rtsp_connection));
        return true;
    }
    std::shared_ptr<RtspServerConnection> get;
    {
        const std::lock_guard lock(table.mutex);
        const auto claim = table.cookies.claim_post(head.value.cookie, now);
        if (claim.get != nullptr) {
            get = claim.get->lock();
            tunnel_generation_ = claim.generation;
        }
    }
    if (!get) {
        if (tunnel_generation_ != 0) {
            const std::lock_guard lock(table.mutex);
            table.cookies.release(head.value.cookie, tunnel_generation_);
        }
        refuse_tunnel(404, "no tunnel GET with this x-sessioncookie waits for a POST");
        return false;
    }
    mode_ = Mode::tunnel_post;
    tunnel_cookie_ = std::move(head.value.cookie);
    tunnel_get_ = get;
    in.erase(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(head.consumed));
    return true;
}

void RtspServerConnection::refuse_websocket(int status, std::string_view why) {
    websocket_log().warn("rtsp over websocket: {} refused ({}): {}", peer_, status, why);
    queue_text(websocket::refusal_reply(status));
    close_after_flush(std::string("websocket refused: ") + std::string(why));
}

bool RtspServerConnection::open_websocket(const http::Request& request, std::size_t consumed,
                                          std::vector<std::uint8_t>& in) {
    auto upgrade = websocket::parse_upgrade(request);
    if (upgrade.failed()) {
        refuse_websocket(upgrade.error_status, upgrade.error);
        return false;
    }
    if (!websocket::origin_allowed(upgrade.value, websocket_origins_)) {
        // The origin is printable ASCII: the HTTP parser refuses control characters in field values.
        refuse_websocket(403, "Origin " + upgrade.value.origin + " is not in websocket_origins");
        return false;
    }
    queue_text(websocket::accept_reply(upgrade.value));  // before the codec: the 101 is not framed
    websocket_ = std::make_unique<websocket::Codec>(websocket::Role::server);
    mode_ = Mode::websocket;
    in.erase(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(consumed));
    spdlog::debug("rtsp connection {}: websocket {} (origin {})", peer_, upgrade.value.path,
                  upgrade.value.has_origin ? upgrade.value.origin : "none");
    return true;
}

asio::awaitable<bool> RtspServerConnection::websocket_received(Bytes raw) {
    std::vector<std::uint8_t> control;
    const auto state = websocket_->feed(raw, websocket_in_, control);
    if (!control.empty()) queue_raw(control);  // pongs, our half of the close handshake
    if (!websocket_in_.empty() && !co_await answer_requests(websocket_in_)) co_return false;
    if (state == websocket::Codec::State::closing) {
        close_after_flush(websocket_->close_received() ? "websocket closed by the client"
                                                       : "websocket protocol error or message too large");
        co_return false;
    }
    co_return true;
}

asio::awaitable<void> RtspServerConnection::tunnel_loop() {
    const auto self = shared_from_this();
    const auto deadline = Clock::now() + k_tunnel_post_wait;
    while (open_) {
        if (!tunnel_pending_) {
            tunnel_wake_.expires_at(tunnel_posted_ ? Clock::time_point::max() : deadline);
            co_await tunnel_wake_.async_wait(net::k_use_tuple);
            if (!open_) co_return;
            if (!tunnel_posted_ && Clock::now() >= deadline) {
                tunnel_log().warn("rtsp over http: {}: no POST within {} s", peer_,
                                  k_tunnel_post_wait.count());
                close("no tunnel POST");
                co_return;
            }
            continue;
        }
        tunnel_pending_ = false;
        const bool go_on = co_await answer_requests(tunnel_in_);
        tunnel_drained_.cancel();  // the POST may read on
        if (!go_on) co_return;
    }
}

asio::awaitable<bool> RtspServerConnection::tunnel_feed(std::vector<std::uint8_t> bytes,
                                                        std::weak_ptr<RtspServerConnection> post) {
    const auto self = shared_from_this();
    if (!is_open()) co_return false;
    tunnel_post_ = std::move(post);
    tunnel_posted_ = true;
    tunnel_in_.insert(tunnel_in_.end(), bytes.begin(), bytes.end());
    tunnel_pending_ = true;
    tunnel_wake_.cancel();
    while (is_open() && tunnel_pending_) {
        tunnel_drained_.expires_at(Clock::time_point::max());
        co_await tunnel_drained_.async_wait(net::k_use_tuple);
    }
    co_return is_open();
}

asio::awaitable<void> RtspServerConnection::post_loop(std::vector<std::uint8_t> in) {
    const auto self = shared_from_this();
    http::Base64Decoder decoder;
    std::array<std::uint8_t, k_read_chunk> chunk{};
    std::vector<std::uint8_t> decoded;
    // First what came with the head, then each read.
    std::string_view body(reinterpret_cast<const char*>(in.data()), in.size());
    while (open_) {
        if (!body.empty()) {
            note_activity();
            decoded.clear();
            if (!decoder.feed(body, decoded)) {
                tunnel_log().warn("rtsp over http: {}: POST body is not base64", peer_);
                // The tunnel is broken both ways: its GET (on its own loop) goes too.
                if (const auto get = tunnel_get_.lock()) {
                    asio::post(get->executor(), [get] { get->close("tunnel POST body is not base64"); });
                }
                close("tunnel POST body is not base64");
                co_return;
            }
            if (!decoded.empty()) {
                const auto get = tunnel_get_.lock();
                if (!get) {
                    close("tunnel GET closed");
                    co_return;
                }
                // Answered on the GET's loop; this POST reads no more until then.
                const bool alive = co_await asio::co_spawn(
                    get->executor(), get->tunnel_feed(std::move(decoded), weak_from_this()),
                    asio::use_awaitable);
                if (!alive) {
                    close("tunnel GET closed");
                    co_return;
                }
            }
        }
        auto [ec, n] = co_await stream_.async_read_some(asio::buffer(chunk), net::k_use_tuple);
        if (ec) {
            close(ec == asio::error::eof ? "tunnel POST closed" : "tunnel POST lost: " + ec.message());
            co_return;
        }
        body = std::string_view(reinterpret_cast<const char*>(chunk.data()), n);
    }
}

Parsed<std::string> busy_reply(std::string_view received, std::chrono::seconds retry_after) {
    const auto item = rtsp::parse_item(received);
    if (item.need_more()) return Parsed<std::string>::more();
    if (item.failed() || !std::holds_alternative<rtsp::Request>(item.value))
        return Parsed<std::string>::fail("not an RTSP request");
    const auto& request = std::get<rtsp::Request>(item.value);
    rtsp::Response response = status_reply(503);
    if (const auto* cseq = request.headers.get("CSeq"); cseq != nullptr && rtsp::parse_cseq(*cseq))
        response.headers.set("CSeq", *cseq);
    response.headers.set("Retry-After", std::to_string(retry_after.count()));
    return Parsed<std::string>::ok(rtsp::to_string(response), item.consumed);
}

namespace {

// Reads the first request head (up to the wait), answers it 503 and closes.
asio::awaitable<void> answer_busy(asio::ip::tcp::socket socket) {
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer deadline(socket.get_executor(), RtspListenerCaps::k_request_wait);
    std::string received;
    std::array<char, 2048> chunk{};
    // A request head larger than this is not worth reading for a refusal.
    constexpr std::size_t k_max_head = 16 * k_kib;
    std::optional<std::string> reply;
    while (!reply && received.size() < k_max_head) {
        auto result = co_await (socket.async_read_some(asio::buffer(chunk), net::k_use_tuple) ||
                                deadline.async_wait(net::k_use_tuple));
        if (result.index() == 1) break;  // nothing (complete) within the wait: close without a word
        const auto [ec, n] = std::get<0>(result);
        if (ec) break;
        received.append(chunk.data(), n);
        const auto parsed = busy_reply(received, RtspListenerCaps::k_retry_after);
        if (parsed.failed()) break;
        if (parsed.done()) reply = parsed.value;
    }
    if (reply) {
        auto written = co_await (asio::async_write(socket, asio::buffer(*reply), net::k_use_tuple) ||
                                 deadline.async_wait(net::k_use_tuple));
        (void)written;
    }
    std::error_code ec;
    socket.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    socket.close(ec);
}

}  // namespace

RtspListenerCaps::RtspListenerCaps(std::string_view listener, RtspConnectionCaps caps)
    : listener_(listener),
      admission_({caps.max_connections, caps.max_connections_per_client}),
      log_(std::string(listener) + ": connections over the caps") {}

void RtspListenerCaps::set_caps(RtspConnectionCaps caps) {
    admission_.set_limits({caps.max_connections, caps.max_connections_per_client});
}

net::Admission::Slot RtspListenerCaps::admit(asio::ip::tcp::socket& socket, bool answer_in_plain_text) {
    std::error_code ec;
    const auto peer = socket.remote_endpoint(ec);
    if (ec) return {};  // already gone; the caller's socket closes with it
    auto admitted = admission_.admit(net::unmap(peer.address()));
    if (admitted.slot) return std::move(admitted.slot);
    refused_.fetch_add(1);
    const auto limits = admission_.limits();
    log_.warn("{}: {} {}: {} (max_connections {}, max_connections_per_client {})", listener_,
              answer_in_plain_text ? "answering 503 to" : "closing", net::to_string(peer),
              net::to_string(admitted.verdict), limits.max_total, limits.max_per_client);
    if (!answer_in_plain_text) {
        std::error_code ignored;
        socket.close(ignored);
        return {};
    }
    auto executor = socket.get_executor();
    asio::co_spawn(executor, answer_busy(std::move(socket)),
                   net::log_unhandled(net::Unhandled::rtsp_busy_reply));
    return {};
}

}  // namespace sg::server
