#pragma once
// RTSP authentication header values: HTTP Basic and Digest as RTSP uses them (RFC 2617, RFC 2326 §12.5
// and §12.44, RFC 7826 §19 and §18.8 / §18.58).
//
// - WWW-Authenticate / Proxy-Authenticate: parse_challenges splits a value that may hold several
//   challenges (`Digest realm="x", nonce="y", Basic realm="x"`) into generic challenges (auth-param
//   syntax with quoted-string escapes, or a token68); parse_digest_challenge types a Digest one.
// - Authorization / Proxy-Authorization: parse_authorization and the formatters for Basic and Digest.
// - RFC 2617 §3.2.2 response computation (HA1, MD5-sess HA1, HA2 = MD5(method ":" uri), with and
//   without qop=auth), a client-side helper answering a challenge, and server-side verification with a
//   constant-time comparison.
//
// qop=auth-int (which hashes the message body) is not implemented: a challenge offering only auth-int
// cannot be answered and credentials using it never verify. Only MD5 and MD5-sess are supported.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/result.hpp"

namespace sg::rtsp {

// ---- base64 (RFC 4648 §4, with padding) ------------------------------------------------------------

std::string base64_encode(std::string_view data);
// Strict: canonical padding only, no whitespace, no non-alphabet characters.
Result<std::string> base64_decode(std::string_view text);

// ---- generic challenges ---------------------------------------------------------------------------

struct AuthParam {
    std::string name;   // as written; names compare case-insensitively
    std::string value;  // unquoted
    bool quoted = false;

    friend bool operator==(const AuthParam&, const AuthParam&) = default;
};

// One challenge (or one credentials value, which has the same syntax).
struct Challenge {
    std::string scheme;   // e.g. "Digest", as written
    std::string token68;  // the token68 form (e.g. Basic credentials); then `params` is empty
    std::vector<AuthParam> params;

    const AuthParam* find(std::string_view name) const noexcept;

    friend bool operator==(const Challenge&, const Challenge&) = default;
};

inline constexpr std::size_t k_max_auth_length = 8192;
inline constexpr std::size_t k_max_challenges = 16;
inline constexpr std::size_t k_max_auth_params = 32;  // per challenge

// Rejects duplicated parameter names within one challenge (RFC 7235 §2.1).
Result<std::vector<Challenge>> parse_challenges(std::string_view value);
std::string to_header_value(const Challenge& challenge);
std::string to_header_value(std::span<const Challenge> challenges);  // joined with ", "

// ---- Digest challenge -----------------------------------------------------------------------------

enum class DigestAlgorithm : std::uint8_t { md5, md5_sess };

struct DigestChallenge {
    std::string realm;
    std::string nonce;
    std::optional<std::string> domain;
    std::optional<std::string> opaque;
    bool stale = false;
    std::optional<DigestAlgorithm> algorithm;  // absent means MD5
    std::vector<std::string> qop;              // offered qop values, e.g. {"auth", "auth-int"}; may be empty

    bool offers_qop_auth() const noexcept;

    friend bool operator==(const DigestChallenge&, const DigestChallenge&) = default;
};

// Fails for non-Digest schemes and for algorithms other than MD5 / MD5-sess.
Result<DigestChallenge> parse_digest_challenge(const Challenge& challenge);
// The first Digest challenge with a supported algorithm in a WWW-Authenticate value.
Result<DigestChallenge> find_digest_challenge(std::string_view www_authenticate);
std::string to_header_value(const DigestChallenge& challenge);
// `Basic realm="..."`.
std::string basic_challenge(std::string_view realm);

// ---- credentials ----------------------------------------------------------------------------------

struct BasicCredentials {
    std::string user;  // must not contain ':' (RFC 2617 §2)
    std::string password;

    friend bool operator==(const BasicCredentials&, const BasicCredentials&) = default;
};

struct DigestCredentials {
    std::string username;
    std::string realm;
    std::string nonce;
    std::string uri;       // digest-uri, as the client sent it (the Request-URI)
    std::string response;  // 32 hex digits
    std::optional<DigestAlgorithm> algorithm;
    std::optional<std::string> cnonce;
    std::optional<std::string> opaque;
    std::optional<std::string> qop;   // the chosen qop ("auth"); requires cnonce and nc
    std::optional<std::uint32_t> nc;  // nonce count, sent as 8 hex digits

    friend bool operator==(const DigestCredentials&, const DigestCredentials&) = default;
};

using Authorization = std::variant<BasicCredentials, DigestCredentials>;

Result<Authorization> parse_authorization(std::string_view value);
std::string to_header_value(const BasicCredentials& credentials);  // "Basic <base64(user:password)>"
std::string to_header_value(const DigestCredentials& credentials);
std::string to_header_value(const Authorization& authorization);

// ---- Digest computation (RFC 2617 §3.2.2) ---------------------------------------------------------

// HA1 as 32 lowercase hex digits: MD5(user:realm:password), or for MD5-sess
// MD5(MD5(user:realm:password):nonce:cnonce). Empty only if MD5 is unavailable in this OpenSSL.
std::string digest_ha1(DigestAlgorithm algorithm, std::string_view username, std::string_view realm,
                       std::string_view password, std::string_view nonce, std::string_view cnonce);

// request-digest for `credentials` (everything but `response` is used) from a precomputed HA1.
Result<std::string> digest_response_from_ha1(std::string_view ha1, const DigestCredentials& credentials,
                                             std::string_view method);
Result<std::string> digest_response(const DigestCredentials& credentials, std::string_view password,
                                    std::string_view method);

struct DigestClientInput {
    std::string_view username;
    std::string_view password;
    std::string_view method;  // e.g. "DESCRIBE"
    std::string_view uri;     // the Request-URI of the request being authorized
    std::string_view cnonce;  // client nonce (caller-generated randomness); used with qop or MD5-sess
    std::uint32_t nc = 1;     // nonce count for this nonce
};

// Answers a challenge: chooses qop=auth when the server offers it, fills every field and the response.
Result<DigestCredentials> make_digest_credentials(const DigestChallenge& challenge,
                                                  const DigestClientInput& input);

// Server side. Checks the response only: the caller must also check that realm, nonce (and its
// freshness / nc replay) and uri match what it issued and the request it received.
bool verify_digest(const DigestCredentials& credentials, std::string_view password, std::string_view method);
bool verify_digest_ha1(const DigestCredentials& credentials, std::string_view ha1, std::string_view method);
// Constant-time comparison of user and password.
bool verify_basic(const BasicCredentials& credentials, std::string_view user, std::string_view password);

}  // namespace sg::rtsp
