#include "rtsp/auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>
#include <initializer_list>

#include "common/hex.hpp"
#include "common/text.hpp"
#include "rtsp/simple_headers.hpp"

namespace sg::rtsp {

namespace {

constexpr char k_base64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::size_t k_md5_hex_length = 32;

int base64_value(char c) noexcept {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

constexpr bool is_token68_char(char c) noexcept {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
           c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

// token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
bool is_token68(std::string_view s) noexcept {
    std::size_t i = 0;
    while (i < s.size() && is_token68_char(s[i]))
        ++i;
    if (i == 0) return false;
    while (i < s.size() && s[i] == '=')
        ++i;
    return i == s.size();
}

// Characters an auth-param value may use without quotes. RFC 7235 says token; we also accept (and
// write back unchanged) other visible characters, as cameras send e.g. unquoted URIs.
// A leading '=' is refused: `Scheme name==` would read back as a token68.
bool is_plain_value(std::string_view s) noexcept {
    if (s.empty() || s.front() == '=') return false;
    for (const char c : s) {
        if (c <= 0x20 || c >= 0x7f || c == '"' || c == ',' || c == '\\') return false;
    }
    return true;
}

std::size_t token_length(std::string_view s) noexcept {
    std::size_t n = 0;
    while (n < s.size() && is_token_char(s[n]))
        ++n;
    return n;
}

std::string_view trim_left(std::string_view s) noexcept {
    while (!s.empty() && is_space_or_tab(s.front()))
        s.remove_prefix(1);
    return s;
}

// name BWS "=" BWS ( token / quoted-string )
Result<AuthParam> parse_auth_param(std::string_view text) {
    const std::size_t n = token_length(text);
    if (n == 0) return fail("auth: bad parameter name");
    AuthParam p;
    p.name = text.substr(0, n);
    std::string_view rest = trim_left(text.substr(n));
    if (rest.empty() || rest.front() != '=') return fail("auth: expected '=' after parameter name");
    rest = trim(rest.substr(1));
    if (!rest.empty() && rest.front() == '"') {
        auto value = unquote(rest);
        if (!value) return fail(value.error());
        p.value = std::move(*value);
        p.quoted = true;
    } else if (is_plain_value(rest)) {
        p.value = rest;
    } else {
        return fail("auth: bad parameter value");
    }
    return p;
}

Result<bool> add_param(Challenge& challenge, std::string_view text) {
    if (!challenge.token68.empty()) return fail("auth: parameters after token68");
    if (challenge.params.size() >= k_max_auth_params) return fail("auth: too many parameters");
    auto p = parse_auth_param(text);
    if (!p) return fail(p.error());
    if (challenge.find(p->name) != nullptr) return fail("auth: duplicate parameter");
    challenge.params.push_back(std::move(*p));
    return true;
}

void append_param(std::string& out, const AuthParam& p) {
    out += p.name;
    out.push_back('=');
    out += (p.quoted || !is_plain_value(p.value)) ? quote(p.value) : p.value;
}

void add_quoted(Challenge& c, std::string_view name, std::string_view value) {
    c.params.push_back(AuthParam{std::string(name), std::string(value), true});
}

void add_plain(Challenge& c, std::string_view name, std::string_view value) {
    c.params.push_back(AuthParam{std::string(name), std::string(value), false});
}

std::optional<DigestAlgorithm> algorithm_from(std::string_view s) {
    if (iequals(s, "MD5")) return DigestAlgorithm::md5;
    if (iequals(s, "MD5-sess")) return DigestAlgorithm::md5_sess;
    return std::nullopt;
}

std::string_view algorithm_name(DigestAlgorithm a) {
    return a == DigestAlgorithm::md5_sess ? "MD5-sess" : "MD5";
}

std::string md5_hex(std::string_view data) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    if (EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_md5(), nullptr) != 1 ||
        length != 16) {
        return {};
    }
    return hex_lower(std::span<const std::uint8_t>(digest.data(), length));
}

std::string join_colon(std::initializer_list<std::string_view> parts) {
    std::string out;
    bool first = true;
    for (const auto part : parts) {
        if (!first) out.push_back(':');
        first = false;
        out += part;
    }
    return out;
}

std::string nc_hex(std::uint32_t nc) {
    static constexpr char k_hex[] = "0123456789abcdef";
    std::string out;
    for (int shift = 28; shift >= 0; shift -= 4)
        out.push_back(k_hex[(nc >> shift) & 0xf]);
    return out;
}

bool is_hex_digit(char c) noexcept {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool is_md5_hex(std::string_view s) noexcept {
    if (s.size() != k_md5_hex_length) return false;
    for (const char c : s) {
        if (!is_hex_digit(c)) return false;
    }
    return true;
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    return a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Result<BasicCredentials> basic_from(const Challenge& c) {
    if (c.token68.empty()) return fail("Authorization: Basic without credentials");
    auto decoded = base64_decode(c.token68);
    if (!decoded) return fail(decoded.error());
    std::string_view text = *decoded;
    const auto colon = text.find(':');
    if (colon == std::string_view::npos) return fail("Authorization: Basic credentials without ':'");
    if (has_forbidden_control(text)) return fail("Authorization: control character in Basic credentials");
    return BasicCredentials{std::string(text.substr(0, colon)), std::string(text.substr(colon + 1))};
}

Result<DigestCredentials> digest_from(const Challenge& c) {
    if (!c.token68.empty()) return fail("Authorization: Digest with token68");
    DigestCredentials d;
    const auto required = [&c](std::string_view name, std::string& out) {
        const AuthParam* p = c.find(name);
        if (p == nullptr) return false;
        out = p->value;
        return true;
    };
    if (!required("username", d.username) || !required("realm", d.realm) || !required("nonce", d.nonce) ||
        !required("uri", d.uri) || !required("response", d.response)) {
        return fail("Authorization: Digest parameter missing");
    }
    if (!is_md5_hex(d.response)) return fail("Authorization: Digest response is not 32 hex digits");
    if (const AuthParam* p = c.find("algorithm")) {
        d.algorithm = algorithm_from(p->value);
        if (!d.algorithm) return fail("Authorization: unsupported Digest algorithm");
    }
    if (const AuthParam* p = c.find("cnonce")) d.cnonce = p->value;
    if (const AuthParam* p = c.find("opaque")) d.opaque = p->value;
    if (const AuthParam* p = c.find("qop")) {
        if (!is_token(p->value)) return fail("Authorization: bad qop");
        d.qop = p->value;
    }
    if (const AuthParam* p = c.find("nc")) {
        if (p->value.size() != 8) return fail("Authorization: nc is not 8 hex digits");
        d.nc = parse_hex<std::uint32_t>(p->value);
        if (!d.nc) return fail("Authorization: nc is not 8 hex digits");
    }
    if (d.qop && (!d.cnonce || !d.nc)) return fail("Authorization: qop without cnonce and nc");
    if (!d.qop && d.nc) return fail("Authorization: nc without qop");
    if (d.algorithm == DigestAlgorithm::md5_sess && !d.cnonce)
        return fail("Authorization: MD5-sess without cnonce");
    return d;
}

}  // namespace

// ---- base64 ---------------------------------------------------------------------------------------

std::string base64_encode(std::string_view data) {
    std::string out;
    out.reserve((data.size() + 2) / 3 * 4);
    std::size_t i = 0;
    const auto byte = [&data](std::size_t at) {
        return static_cast<std::uint32_t>(static_cast<unsigned char>(data[at]));
    };
    for (; i + 3 <= data.size(); i += 3) {
        const std::uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
        out.push_back(k_base64_alphabet[(v >> 18) & 0x3f]);
        out.push_back(k_base64_alphabet[(v >> 12) & 0x3f]);
        out.push_back(k_base64_alphabet[(v >> 6) & 0x3f]);
        out.push_back(k_base64_alphabet[v & 0x3f]);
    }
    const std::size_t left = data.size() - i;
    if (left > 0) {
        std::uint32_t v = byte(i) << 16;
        if (left == 2) v |= byte(i + 1) << 8;
        out.push_back(k_base64_alphabet[(v >> 18) & 0x3f]);
        out.push_back(k_base64_alphabet[(v >> 12) & 0x3f]);
        out.push_back(left == 2 ? k_base64_alphabet[(v >> 6) & 0x3f] : '=');
        out.push_back('=');
    }
    return out;
}

Result<std::string> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) return fail("base64: length is not a multiple of 4");
    if (text.size() > k_max_auth_length) return fail("base64: too long");
    std::string out;
    out.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4) {
        const bool last = i + 4 == text.size();
        std::size_t pad = 0;
        if (last && text[i + 3] == '=') pad = text[i + 2] == '=' ? 2 : 1;
        std::uint32_t v = 0;
        for (std::size_t k = 0; k < 4; ++k) {
            const int d = k < 4 - pad ? base64_value(text[i + k]) : 0;
            if (d < 0) return fail("base64: invalid character");
            v = (v << 6) | static_cast<std::uint32_t>(d);
        }
        // Canonical encoding only: the bits below the last encoded byte must be zero.
        if ((pad == 1 && (v & 0xff) != 0) || (pad == 2 && (v & 0xffff) != 0)) {
            return fail("base64: non-canonical padding bits");
        }
        out.push_back(static_cast<char>((v >> 16) & 0xff));
        if (pad < 2) out.push_back(static_cast<char>((v >> 8) & 0xff));
        if (pad < 1) out.push_back(static_cast<char>(v & 0xff));
    }
    return out;
}

// ---- challenges -----------------------------------------------------------------------------------

const AuthParam* Challenge::find(std::string_view name) const noexcept {
    for (const auto& p : params) {
        if (iequals(p.name, name)) return &p;
    }
    return nullptr;
}

Result<std::vector<Challenge>> parse_challenges(std::string_view value) {
    if (value.size() > k_max_auth_length) return fail("auth: header value too long");
    auto items = split_unquoted(value, ',', k_max_challenges * (k_max_auth_params + 1));
    if (!items) return fail(items.error());
    std::vector<Challenge> out;
    for (const std::string_view item : *items) {
        if (item.empty()) continue;  // null list elements
        const std::size_t n = token_length(item);
        if (n == 0) return fail("auth: expected scheme or parameter");
        const std::string_view after = item.substr(n);
        const std::string_view after_ws = trim_left(after);
        if (!after_ws.empty() && after_ws.front() == '=') {
            // "name=value": another parameter of the current challenge.
            if (out.empty()) return fail("auth: parameter before any scheme");
            if (auto r = add_param(out.back(), item); !r) return fail(r.error());
            continue;
        }
        if (!after.empty() && after_ws.size() == after.size()) return fail("auth: junk after scheme");
        if (out.size() >= k_max_challenges) return fail("auth: too many challenges");
        Challenge challenge;
        challenge.scheme = item.substr(0, n);
        if (!after_ws.empty()) {
            // A parameter has a non-empty value after '='; token68 may only end in '=' padding.
            if (is_token68(after_ws)) {
                challenge.token68 = after_ws;
            } else if (auto r = add_param(challenge, after_ws); !r) {
                return fail(r.error());
            }
        }
        out.push_back(std::move(challenge));
    }
    if (out.empty()) return fail("auth: no challenge");
    return out;
}

std::string to_header_value(const Challenge& challenge) {
    std::string out = challenge.scheme;
    if (!challenge.token68.empty()) {
        out.push_back(' ');
        out += challenge.token68;
        return out;
    }
    bool first = true;
    for (const auto& p : challenge.params) {
        out += first ? " " : ", ";
        first = false;
        append_param(out, p);
    }
    return out;
}

std::string to_header_value(std::span<const Challenge> challenges) {
    std::string out;
    for (const auto& c : challenges) {
        if (!out.empty()) out += ", ";
        out += to_header_value(c);
    }
    return out;
}

// ---- Digest challenge -----------------------------------------------------------------------------

bool DigestChallenge::offers_qop_auth() const noexcept {
    for (const auto& q : qop) {
        if (iequals(q, "auth")) return true;
    }
    return false;
}

Result<DigestChallenge> parse_digest_challenge(const Challenge& challenge) {
    if (!iequals(challenge.scheme, "Digest")) return fail("WWW-Authenticate: not a Digest challenge");
    if (!challenge.token68.empty()) return fail("WWW-Authenticate: Digest with token68");
    DigestChallenge d;
    const AuthParam* realm = challenge.find("realm");
    const AuthParam* nonce = challenge.find("nonce");
    if (realm == nullptr || nonce == nullptr) return fail("WWW-Authenticate: Digest without realm or nonce");
    d.realm = realm->value;
    d.nonce = nonce->value;
    if (const AuthParam* p = challenge.find("domain")) d.domain = p->value;
    if (const AuthParam* p = challenge.find("opaque")) d.opaque = p->value;
    if (const AuthParam* p = challenge.find("stale")) d.stale = iequals(p->value, "true");
    if (const AuthParam* p = challenge.find("algorithm")) {
        d.algorithm = algorithm_from(p->value);
        if (!d.algorithm) return fail("WWW-Authenticate: unsupported Digest algorithm");
    }
    if (const AuthParam* p = challenge.find("qop")) {
        auto list = parse_token_list(p->value);
        if (!list) return fail("WWW-Authenticate: bad qop list");
        d.qop = std::move(*list);
    }
    return d;
}

Result<DigestChallenge> find_digest_challenge(std::string_view www_authenticate) {
    auto challenges = parse_challenges(www_authenticate);
    if (!challenges) return fail(challenges.error());
    for (const auto& c : *challenges) {
        if (auto d = parse_digest_challenge(c)) return d;
    }
    return fail("WWW-Authenticate: no usable Digest challenge");
}

std::string to_header_value(const DigestChallenge& challenge) {
    Challenge c;
    c.scheme = "Digest";
    add_quoted(c, "realm", challenge.realm);
    if (challenge.domain) add_quoted(c, "domain", *challenge.domain);
    add_quoted(c, "nonce", challenge.nonce);
    if (challenge.opaque) add_quoted(c, "opaque", *challenge.opaque);
    if (challenge.stale) add_plain(c, "stale", "true");
    if (challenge.algorithm) add_plain(c, "algorithm", algorithm_name(*challenge.algorithm));
    if (!challenge.qop.empty()) {
        std::string list;
        for (const auto& q : challenge.qop) {
            if (!list.empty()) list.push_back(',');
            list += q;
        }
        add_quoted(c, "qop", list);
    }
    return to_header_value(c);
}

std::string basic_challenge(std::string_view realm) {
    Challenge c;
    c.scheme = "Basic";
    add_quoted(c, "realm", realm);
    return to_header_value(c);
}

// ---- credentials ----------------------------------------------------------------------------------

Result<Authorization> parse_authorization(std::string_view value) {
    auto parsed = parse_challenges(value);
    if (!parsed) return fail(parsed.error());
    if (parsed->size() != 1) return fail("Authorization: expected exactly one credentials value");
    const Challenge& c = parsed->front();
    if (iequals(c.scheme, "Basic")) {
        auto basic = basic_from(c);
        if (!basic) return fail(basic.error());
        return Authorization{std::move(*basic)};
    }
    if (iequals(c.scheme, "Digest")) {
        auto digest = digest_from(c);
        if (!digest) return fail(digest.error());
        return Authorization{std::move(*digest)};
    }
    return fail("Authorization: unsupported scheme");
}

std::string to_header_value(const BasicCredentials& credentials) {
    std::string plain = credentials.user;
    plain.push_back(':');
    plain += credentials.password;
    return "Basic " + base64_encode(plain);
}

std::string to_header_value(const DigestCredentials& credentials) {
    // Parameter order of RFC 2617 §3.5's example.
    Challenge c;
    c.scheme = "Digest";
    add_quoted(c, "username", credentials.username);
    add_quoted(c, "realm", credentials.realm);
    add_quoted(c, "nonce", credentials.nonce);
    add_quoted(c, "uri", credentials.uri);
    if (credentials.algorithm) add_plain(c, "algorithm", algorithm_name(*credentials.algorithm));
    if (credentials.qop) add_plain(c, "qop", *credentials.qop);
    if (credentials.nc) add_plain(c, "nc", nc_hex(*credentials.nc));
    if (credentials.cnonce) add_quoted(c, "cnonce", *credentials.cnonce);
    add_quoted(c, "response", credentials.response);
    if (credentials.opaque) add_quoted(c, "opaque", *credentials.opaque);
    return to_header_value(c);
}

std::string to_header_value(const Authorization& authorization) {
    return std::visit([](const auto& credentials) { return to_header_value(credentials); }, authorization);
}

// ---- Digest computation ---------------------------------------------------------------------------

std::string digest_ha1(DigestAlgorithm algorithm, std::string_view username, std::string_view realm,
                       std::string_view password, std::string_view nonce, std::string_view cnonce) {
    std::string ha1 = md5_hex(join_colon({username, realm, password}));
    if (algorithm == DigestAlgorithm::md5_sess && !ha1.empty()) {
        // RFC 2617 §3.2.2.2 defines A1 with H(), i.e. the hex form; the binary digest in the RFC's
        // sample code is a known erratum (RFC 7616 §3.4.2 and common servers use hex).
        ha1 = md5_hex(join_colon({ha1, nonce, cnonce}));
    }
    return ha1;
}

Result<std::string> digest_response_from_ha1(std::string_view ha1_hex, const DigestCredentials& credentials,
                                             std::string_view method) {
    if (!is_md5_hex(ha1_hex)) return fail("digest: HA1 is not 32 hex digits");
    std::string ha1(ha1_hex);
    for (char& c : ha1)
        c = ascii_lower(c);
    const std::string ha2 = md5_hex(join_colon({method, credentials.uri}));
    std::string response;
    if (credentials.qop) {
        if (!iequals(*credentials.qop, "auth")) return fail("digest: unsupported qop");
        if (!credentials.nc || !credentials.cnonce) return fail("digest: qop needs nc and cnonce");
        response = md5_hex(join_colon(
            {ha1, credentials.nonce, nc_hex(*credentials.nc), *credentials.cnonce, *credentials.qop, ha2}));
    } else {
        response = md5_hex(join_colon({ha1, credentials.nonce, ha2}));
    }
    if (ha2.empty() || response.empty()) return fail("digest: MD5 unavailable");
    return response;
}

Result<std::string> digest_response(const DigestCredentials& credentials, std::string_view password,
                                    std::string_view method) {
    const auto algorithm = credentials.algorithm.value_or(DigestAlgorithm::md5);
    if (algorithm == DigestAlgorithm::md5_sess && !credentials.cnonce)
        return fail("digest: MD5-sess needs cnonce");
    const std::string ha1 = digest_ha1(algorithm, credentials.username, credentials.realm, password,
                                       credentials.nonce, credentials.cnonce.value_or(""));
    if (ha1.empty()) return fail("digest: MD5 unavailable");
    return digest_response_from_ha1(ha1, credentials, method);
}

Result<DigestCredentials> make_digest_credentials(const DigestChallenge& challenge,
                                                  const DigestClientInput& input) {
    DigestCredentials d;
    d.username = input.username;
    d.realm = challenge.realm;
    d.nonce = challenge.nonce;
    d.uri = input.uri;
    d.algorithm = challenge.algorithm;
    d.opaque = challenge.opaque;
    const bool sess = challenge.algorithm == DigestAlgorithm::md5_sess;
    if (!challenge.qop.empty()) {
        if (!challenge.offers_qop_auth()) return fail("digest: server offers no supported qop");
        d.qop = "auth";
        d.nc = input.nc;
    }
    if (d.qop || sess) {
        if (input.cnonce.empty()) return fail("digest: cnonce required");
        d.cnonce = std::string(input.cnonce);
    }
    auto response = digest_response(d, input.password, input.method);
    if (!response) return fail(response.error());
    d.response = std::move(*response);
    return d;
}

bool verify_digest_ha1(const DigestCredentials& credentials, std::string_view ha1, std::string_view method) {
    const auto expected = digest_response_from_ha1(ha1, credentials, method);
    if (!expected || !is_md5_hex(credentials.response)) return false;
    std::string received = credentials.response;
    for (char& c : received)
        c = ascii_lower(c);
    return constant_time_equal(*expected, received);
}

bool verify_digest(const DigestCredentials& credentials, std::string_view password, std::string_view method) {
    const auto algorithm = credentials.algorithm.value_or(DigestAlgorithm::md5);
    if (algorithm == DigestAlgorithm::md5_sess && !credentials.cnonce) return false;
    const std::string ha1 = digest_ha1(algorithm, credentials.username, credentials.realm, password,
                                       credentials.nonce, credentials.cnonce.value_or(""));
    return verify_digest_ha1(credentials, ha1, method);
}

bool verify_basic(const BasicCredentials& credentials, std::string_view user, std::string_view password) {
    // Evaluate both comparisons so the time taken does not reveal which one failed.
    const bool user_ok = constant_time_equal(credentials.user, user);
    const bool password_ok = constant_time_equal(credentials.password, password);
    return user_ok && password_ok;
}

}  // namespace sg::rtsp
