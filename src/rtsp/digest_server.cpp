#include "rtsp/digest_server.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdio>
#include <set>
#include <variant>

#include "common/hex.hpp"
#include "common/text.hpp"
#include "rtsp/auth.hpp"

namespace sg::rtsp {
namespace {

constexpr std::size_t k_time_digits = 16;
constexpr std::size_t k_mac_digits = 32;  // the first 16 bytes of the HMAC-SHA256

std::string time_hex(std::uint64_t seconds) {
    std::array<char, k_time_digits + 1> text{};
    std::snprintf(text.data(), text.size(), "%016llx",  // NOLINT(cppcoreguidelines-pro-type-vararg)
                  static_cast<unsigned long long>(seconds));
    return text.data();
}

std::optional<std::uint64_t> parse_time_hex(std::string_view text) {
    if (text.size() != k_time_digits) return std::nullopt;
    std::uint64_t value = 0;
    for (const char c : text) {
        unsigned digit = 0;
        if (c >= '0' && c <= '9') {
            digit = static_cast<unsigned>(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            digit = static_cast<unsigned>(c - 'a' + 10);
        } else {
            return std::nullopt;  // only the lowercase form make_nonce writes
        }
        value = (value << 4U) | digit;
    }
    return value;
}

DigestCheck refuse(std::string user, std::string reason) {
    return DigestCheck{DigestVerdict::refused, std::move(user), std::move(reason)};
}

}  // namespace

Result<DigestServer> DigestServer::create(std::string realm,
                                          std::vector<std::pair<std::string, std::string>> accounts,
                                          const NonceSecret& secret, std::uint64_t nonce_lifetime_s) {
    if (accounts.empty()) return fail("digest: no accounts");
    if (realm.empty() || realm.find('"') != std::string::npos || realm.find('\\') != std::string::npos)
        return fail("digest: the realm must be non-empty, without '\"' or '\\'");
    std::set<std::string_view> names;
    for (const auto& [user, password] : accounts) {
        if (user.empty() || password.empty()) return fail("digest: empty user name or password");
        if (user.find(':') != std::string::npos) return fail("digest: a user name must not contain ':'");
        if (!names.insert(user).second) return fail("digest: a user name is given twice");
    }
    DigestServer server;
    server.realm_ = std::move(realm);
    server.accounts_ = std::move(accounts);
    server.secret_ = secret;
    server.lifetime_s_ = nonce_lifetime_s;
    return server;
}

std::string DigestServer::nonce_mac(std::string_view time_text) const {
    std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
    unsigned int length = 0;
    if (HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
             reinterpret_cast<const unsigned char*>(time_text.data()),  // NOLINT(*-reinterpret-cast)
             time_text.size(), mac.data(), &length) == nullptr ||
        length < k_mac_digits / 2)
        return {};
    return hex_lower(std::span<const std::uint8_t>(mac.data(), k_mac_digits / 2));
}

std::string DigestServer::make_nonce(std::uint64_t now_s) const {
    const std::string time_text = time_hex(now_s);
    return time_text + nonce_mac(time_text);
}

NonceState DigestServer::check_nonce(std::string_view nonce, std::uint64_t now_s) const {
    if (nonce.size() != k_time_digits + k_mac_digits) return NonceState::invalid;
    const auto time_text = nonce.substr(0, k_time_digits);
    const auto issued = parse_time_hex(time_text);
    if (!issued) return NonceState::invalid;
    const std::string expected = nonce_mac(time_text);
    if (expected.size() != k_mac_digits ||
        CRYPTO_memcmp(expected.data(), nonce.data() + k_time_digits, k_mac_digits) != 0)
        return NonceState::invalid;
    if (*issued > now_s) return NonceState::invalid;  // the clock is monotonic: never issued
    return now_s - *issued > lifetime_s_ ? NonceState::stale : NonceState::valid;
}

std::string DigestServer::challenge(std::uint64_t now_s, bool stale) const {
    DigestChallenge c;
    c.realm = realm_;
    c.nonce = make_nonce(now_s);
    c.stale = stale;
    c.algorithm = DigestAlgorithm::md5;
    c.qop = {"auth"};
    return to_header_value(c);
}

const std::string* DigestServer::password_of(std::string_view user) const noexcept {
    for (const auto& [name, password] : accounts_)
        if (name == user) return &password;
    return nullptr;
}

DigestCheck DigestServer::verify(const std::string* authorization, std::string_view method,
                                 std::string_view request_uri, std::uint64_t now_s) const {
    if (authorization == nullptr) return DigestCheck{};
    auto parsed = parse_authorization(*authorization);
    if (!parsed) return refuse("", "malformed Authorization");
    auto* digest = std::get_if<DigestCredentials>(&*parsed);
    if (digest == nullptr) return refuse(std::get<BasicCredentials>(*parsed).user, "Basic not accepted");
    std::string user = digest->username;
    if (digest->realm != realm_) return refuse(std::move(user), "wrong realm");
    if (digest->uri != request_uri) return refuse(std::move(user), "uri does not match the request");
    if (digest->qop && !iequals(*digest->qop, "auth")) return refuse(std::move(user), "unsupported qop");
    const auto nonce = check_nonce(digest->nonce, now_s);
    if (nonce == NonceState::invalid) return refuse(std::move(user), "nonce not issued here");
    // An unknown user is checked against a placeholder so that the time taken does not tell which names
    // exist.
    const std::string* password = password_of(user);
    const bool correct =
        verify_digest(*digest, password != nullptr ? *password : std::string_view("\x01"), method);
    if (password == nullptr) return refuse(std::move(user), "unknown user");
    if (!correct) return refuse(std::move(user), "wrong password");
    if (nonce == NonceState::stale) return DigestCheck{DigestVerdict::stale, std::move(user), "stale nonce"};
    return DigestCheck{DigestVerdict::ok, std::move(user), {}};
}

}  // namespace sg::rtsp
