#include "tls/tls_context.hpp"

#include <openssl/err.h>

#include <array>

namespace sg::tls {

std::string openssl_error(std::string fallback) {
    const unsigned long code = ERR_get_error();  // the oldest; the rest are consequences of it
    ERR_clear_error();
    if (code == 0) return fallback;
    std::array<char, 256> text{};
    ERR_error_string_n(code, text.data(), text.size());
    return text.data();
}

namespace {

constexpr auto k_options = asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                           asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                           asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use;

}  // namespace

std::shared_ptr<asio::ssl::context> make_server_context(const std::filesystem::path& certificate_chain,
                                                        const std::filesystem::path& private_key,
                                                        std::string& error) {
    auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    asio::error_code ec;
    context->set_options(k_options, ec);
    if (!ec) context->use_certificate_chain_file(certificate_chain.string(), ec);
    if (ec) {
        error = "certificate " + certificate_chain.string() + ": " + openssl_error(ec.message());
        return nullptr;
    }
    context->use_private_key_file(private_key.string(), asio::ssl::context::pem, ec);
    if (ec) {
        error = "private key " + private_key.string() + ": " + openssl_error(ec.message());
        return nullptr;
    }
    if (SSL_CTX_check_private_key(context->native_handle()) != 1) {
        error = "private key " + private_key.string() + " does not match certificate " +
                certificate_chain.string();
        ERR_clear_error();
        return nullptr;
    }
    return context;
}

std::shared_ptr<asio::ssl::context> make_client_context(const ClientOptions& options, std::string& error) {
    auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
    asio::error_code ec;
    context->set_options(k_options, ec);
    if (!ec && options.verify) {
        if (options.ca_file.empty()) {
            context->set_default_verify_paths(ec);
        } else {
            context->load_verify_file(options.ca_file.string(), ec);
        }
    }
    if (ec) {
        error = (options.ca_file.empty() ? std::string("system CA store")
                                         : "CA file " + options.ca_file.string()) +
                ": " + openssl_error(ec.message());
        return nullptr;
    }
    context->set_verify_mode(options.verify ? asio::ssl::verify_peer : asio::ssl::verify_none);
    return context;
}

}  // namespace sg::tls
