#pragma once
// Server-side Digest authentication of RTSP clients (RFC 2617 as RFC 2326 §D / RFC 7826 §19.1 use it):
// challenges, stateless nonces and verification of Authorization headers. Pure: the caller supplies the
// per-process secret and the current time.
//
// A nonce is "<16 hex digits of the issue time in seconds><32 hex digits of HMAC-SHA256(secret, time)>",
// so the server keeps no state per nonce: a nonce it did not issue fails the HMAC, one older than the
// lifetime is stale (the client is told stale=true and retries without asking its user again). Without
// per-nonce state, nonce counts are not checked for replay; see verify() for how callers bound that.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace sg::rtsp {

inline constexpr std::size_t k_nonce_secret_size = 32;
using NonceSecret = std::array<std::uint8_t, k_nonce_secret_size>;

enum class NonceState : std::uint8_t { valid, stale, invalid };

enum class DigestVerdict : std::uint8_t {
    ok,       // correct credentials with a fresh nonce
    stale,    // correct credentials, authentic nonce, but older than the lifetime
    missing,  // no Authorization header: the first request of most clients
    refused,  // anything else: wrong user, password, realm, uri, forged nonce, Basic, malformed
};

struct DigestCheck {
    DigestVerdict verdict = DigestVerdict::missing;
    std::string user;    // the username the client claimed (empty when missing or unparsable)
    std::string reason;  // why it was refused, for the log (never contains the password)
};

class DigestServer {
public:
    // Fails on an empty account list, a name or password that is empty, or a name given twice.
    static Result<DigestServer> create(std::string realm,
                                       std::vector<std::pair<std::string, std::string>> accounts,
                                       const NonceSecret& secret, std::uint64_t nonce_lifetime_s);

    const std::string& realm() const noexcept { return realm_; }

    std::string make_nonce(std::uint64_t now_s) const;
    NonceState check_nonce(std::string_view nonce, std::uint64_t now_s) const;

    // The WWW-Authenticate value of a 401: Digest, MD5, qop="auth" offered (clients may still use the RFC
    // 2069 form without qop), a fresh nonce.
    std::string challenge(std::uint64_t now_s, bool stale) const;

    // Checks an Authorization header value against the request it came with. The uri in the credentials
    // must equal the Request-URI.
    DigestCheck verify(const std::string* authorization, std::string_view method,
                       std::string_view request_uri, std::uint64_t now_s) const;

private:
    DigestServer() = default;
    std::string nonce_mac(std::string_view time_hex) const;
    const std::string* password_of(std::string_view user) const noexcept;

    std::string realm_;
    std::vector<std::pair<std::string, std::string>> accounts_;
    NonceSecret secret_{};
    std::uint64_t lifetime_s_ = 0;
};

}  // namespace sg::rtsp
