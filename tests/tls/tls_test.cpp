// The TLS contexts (loading and refusing certificates) and MaybeTlsStream's handshake on loopback: a client
// that checks the server's certificate accepts the one made for 127.0.0.1 and refuses others.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>

#include "tls/maybe_tls_stream.hpp"
#include "tls/tls_context.hpp"

namespace sg::tls {
namespace {

namespace fs = std::filesystem;
using asio::ip::tcp;
constexpr auto k_use = asio::experimental::as_tuple(asio::use_awaitable);

// A self-signed P-256 certificate with this subjectAltName (e.g. "IP:127.0.0.1"), written as PEM files.
struct Identity {
    fs::path certificate;
    fs::path key;
};

Identity make_identity(const fs::path& dir, const std::string& name, const std::string& alt_name) {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* subject = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
    X509_set_issuer_name(cert, subject);
    X509V3_CTX context;
    X509V3_set_ctx_nodb(&context);
    X509V3_set_ctx(&context, cert, cert, nullptr, nullptr, 0);
    X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &context, NID_subject_alt_name, alt_name.c_str());
    X509_add_ext(cert, san, -1);
    X509_EXTENSION_free(san);
    X509_sign(cert, key, EVP_sha256());
    Identity out{dir / (name + ".pem"), dir / (name + ".key")};
    FILE* file = std::fopen(out.certificate.c_str(), "w");
    PEM_write_X509(file, cert);
    std::fclose(file);
    file = std::fopen(out.key.c_str(), "w");
    PEM_write_PrivateKey(file, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(file);
    X509_free(cert);
    EVP_PKEY_free(key);
    return out;
}

class Tls : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("sg-tls-test-" + std::to_string(::getpid()));
        fs::create_directories(dir_);
        loopback_ = make_identity(dir_, "loopback", "IP:127.0.0.1");
        elsewhere_ = make_identity(dir_, "elsewhere", "IP:192.0.2.1");
    }
    void TearDown() override { fs::remove_all(dir_); }

    // A server with `server_identity` and a client with `client` on loopback: "" when the client's handshake
    // succeeded (and one line crossed it), else what the client's handshake said.
    std::string handshake(const Identity& server_identity, const ClientOptions& client) {
        std::string error;
        const auto server_context =
            make_server_context(server_identity.certificate, server_identity.key, error);
        EXPECT_TRUE(server_context) << error;
        const auto client_context = make_client_context(client, error);
        EXPECT_TRUE(client_context) << error;
        asio::io_context io;
        tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        tcp::socket accepted(io);
        tcp::socket connected(io);
        std::optional<std::string> outcome;
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                auto [ec] = co_await acceptor.async_accept(accepted, k_use);
                if (ec) co_return;
                MaybeTlsStream stream(accepted);
                stream.enable(*server_context);
                auto [handshake_error] =
                    co_await stream.tls().async_handshake(asio::ssl::stream_base::server, k_use);
                if (handshake_error) co_return;
                std::array<char, 5> hello{};
                co_await stream.async_read_some(asio::buffer(hello), k_use);
            },
            asio::detached);
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                auto [ec] = co_await connected.async_connect(acceptor.local_endpoint(), k_use);
                if (ec) co_return;
                MaybeTlsStream stream(connected);
                stream.enable(*client_context);
                stream.expect_server("127.0.0.1");
                auto [handshake_error] =
                    co_await stream.tls().async_handshake(asio::ssl::stream_base::client, k_use);
                if (handshake_error) {
                    outcome = handshake_error.message();
                    co_return;
                }
                auto [write_error, n] =
                    co_await stream.async_write(asio::buffer(std::string("hello")), k_use);
                outcome = write_error ? write_error.message() : "";
            },
            asio::detached);
        io.run_for(std::chrono::seconds(10));
        return outcome.value_or("no outcome within 10 s");
    }

    fs::path dir_;
    Identity loopback_;
    Identity elsewhere_;
};

TEST_F(Tls, ServerContextNamesTheFileItCannotUse) {
    std::string error;
    EXPECT_TRUE(make_server_context(loopback_.certificate, loopback_.key, error)) << error;
    EXPECT_FALSE(make_server_context(dir_ / "missing.pem", loopback_.key, error));
    EXPECT_NE(error.find("missing.pem"), std::string::npos) << error;
    EXPECT_FALSE(make_server_context(loopback_.certificate, elsewhere_.key, error));
    EXPECT_NE(error.find("elsewhere.key"), std::string::npos) << error;
    EXPECT_NE(error.find("mismatch"), std::string::npos) << error;
    EXPECT_FALSE(make_client_context({true, dir_ / "no-ca.pem"}, error));
    EXPECT_NE(error.find("no-ca.pem"), std::string::npos) << error;
}

TEST_F(Tls, ClientAcceptsTheCertificateOfItsCaForTheAddress) {
    EXPECT_EQ(handshake(loopback_, {true, loopback_.certificate}), "");
}

TEST_F(Tls, ClientRefusesAnUnknownCaAndAWrongName) {
    // Signed by a CA the client does not trust.
    EXPECT_NE(handshake(loopback_, {true, elsewhere_.certificate}).find("certificate verify failed"),
              std::string::npos);
    // Trusted, but made for another address.
    EXPECT_NE(handshake(elsewhere_, {true, elsewhere_.certificate}).find("certificate verify failed"),
              std::string::npos);
    // Told not to check: the lab camera case.
    EXPECT_EQ(handshake(elsewhere_, {false, {}}), "");
}

}  // namespace
}  // namespace sg::tls
