#include "tls/maybe_tls_stream.hpp"

#include <openssl/ssl.h>
#include <openssl/tls1.h>

#include <asio/ip/address.hpp>
#include <asio/ssl/host_name_verification.hpp>

namespace sg::tls {

void MaybeTlsStream::expect_server(const std::string& host) {
    asio::error_code not_address;
    (void)asio::ip::make_address(host, not_address);
    if (not_address) {
        // SSL_set_tlsext_host_name, without the macro's C cast; OpenSSL copies the name.
        SSL_ctrl(tls_->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(host.c_str()));  // NOLINT(cppcoreguidelines-pro-type-const-cast)
    }
    tls_->set_verify_callback(asio::ssl::host_name_verification(host));
}

}  // namespace sg::tls
