#pragma once
// A TCP connection that carries TLS or plain bytes, chosen at run time: the RTSP connections of serve, the
// proxy listener and the client core read and write through it whether their listener or URL is rtsp:// or
// rtsps://. It holds the socket by reference (the owner keeps closing, cancelling and asking it for its
// endpoints as before); reads and writes return the same awaitable type either way.
//
// TLS allows one read and one write in flight at a time, from the connection's own event loop (its implicit
// strand), which is how the RTSP connections already use their sockets.

#include <asio/ip/tcp.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/write.hpp>
#include <memory>
#include <string>
#include <utility>

namespace sg::tls {

class MaybeTlsStream {
public:
    using TlsStream = asio::ssl::stream<asio::ip::tcp::socket&>;

    explicit MaybeTlsStream(asio::ip::tcp::socket& socket) : socket_(socket) {}

    // From now on reads and writes go through TLS; the handshake comes next.
    void enable(asio::ssl::context& context) { tls_ = std::make_unique<TlsStream>(socket_, context); }
    bool is_tls() const noexcept { return tls_ != nullptr; }
    TlsStream& tls() noexcept { return *tls_; }

    // Client side, before the handshake: names the server (SNI, not for address literals, RFC 6066 §3) and,
    // when the context verifies, checks the certificate names that host or address.
    void expect_server(const std::string& host);

    template <class MutableBuffers, class Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token) {
        if (tls_) return tls_->async_read_some(buffers, std::forward<Token>(token));
        return socket_.async_read_some(buffers, std::forward<Token>(token));
    }

    // Writes all of `buffers`.
    template <class ConstBuffers, class Token>
    auto async_write(const ConstBuffers& buffers, Token&& token) {
        if (tls_) return asio::async_write(*tls_, buffers, std::forward<Token>(token));
        return asio::async_write(socket_, buffers, std::forward<Token>(token));
    }

private:
    asio::ip::tcp::socket& socket_;
    std::unique_ptr<TlsStream> tls_;
};

}  // namespace sg::tls
