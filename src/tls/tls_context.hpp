#pragma once
// OpenSSL contexts for RTSP over TLS (rtsps://, RFC 7826 §4.2). SRTP is out of scope: over RTSPS the
// control connection is encrypted, and media interleaved in it with it; UDP media stays plain RTP.
//
// One server context per process, shared by every TLS listener and every event loop (an SSL_CTX may be
// used from several threads once it is set up); a client context per upstream or player configuration.

#include <asio/ssl/context.hpp>
#include <filesystem>
#include <memory>
#include <string>

namespace sg::tls {

// TLS 1.2 and later, the certificate chain and private key from PEM files; nullptr and `error` (which file,
// what OpenSSL said) when they cannot be loaded or do not match.
std::shared_ptr<asio::ssl::context> make_server_context(const std::filesystem::path& certificate_chain,
                                                        const std::filesystem::path& private_key,
                                                        std::string& error);

struct ClientOptions {
    // Check the server's certificate and its name (the URL's host). Off only for lab cameras with
    // self-signed certificates: anyone on the path can then read and change the stream.
    bool verify = true;
    // PEM file of the CAs to trust; empty: the system's (Debian's ca-certificates).
    std::filesystem::path ca_file;
};

// TLS 1.2 and later; nullptr and `error` when the CA file cannot be loaded.
std::shared_ptr<asio::ssl::context> make_client_context(const ClientOptions& options, std::string& error);

// The last OpenSSL error queued on this thread as text (and the queue cleared), or `fallback`.
std::string openssl_error(std::string fallback);

}  // namespace sg::tls
