// libFuzzer target for the server side of player Digest auth (rtsp/digest_server.hpp): the input is an
// Authorization header value a player sends. Properties checked (a violation traps):
//   - verify() terminates without a sanitizer report on any input;
//   - nothing but credentials over a nonce this server issued is accepted: an input whose nonce is not
//     one of ours never verifies (the fuzzer cannot forge the HMAC);
//   - a challenge answered with the right password verifies, and with the input as password does not
//     (unless the input happens to be the password).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "rtsp/auth.hpp"
#include "rtsp/digest_server.hpp"

namespace {

using namespace sg::rtsp;

constexpr std::uint64_t k_now = 1000;
constexpr std::string_view k_uri = "rtsp://gw/cam";
constexpr std::string_view k_password = "wonderland";

const DigestServer& server() {
    static const DigestServer instance = [] {
        NonceSecret secret{};
        secret.fill(0x5a);
        auto created = DigestServer::create("streamgate", {{"alice", std::string(k_password)}}, secret, 60);
        if (!created) __builtin_trap();
        return std::move(*created);
    }();
    return instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);  // NOLINT(*-reinterpret-cast)
    const auto& auth = server();
    const auto check = auth.verify(&text, "DESCRIBE", k_uri, k_now);
    if (check.verdict == DigestVerdict::ok || check.verdict == DigestVerdict::stale) {
        const auto parsed = parse_authorization(text);
        const auto* digest = parsed ? std::get_if<DigestCredentials>(&*parsed) : nullptr;
        if (digest == nullptr || auth.check_nonce(digest->nonce, k_now) == NonceState::invalid)
            __builtin_trap();
    }
    auto challenge = find_digest_challenge(auth.challenge(k_now, false));
    if (!challenge) __builtin_trap();
    const DigestClientInput right{"alice", k_password, "DESCRIBE", k_uri, "0a4f113b", 1};
    const auto good = make_digest_credentials(*challenge, right);
    if (!good) __builtin_trap();
    const std::string good_header = to_header_value(*good);
    if (auth.verify(&good_header, "DESCRIBE", k_uri, k_now).verdict != DigestVerdict::ok) __builtin_trap();
    if (text != k_password && text.find(':') == std::string::npos) {
        const DigestClientInput wrong{"alice", text, "DESCRIBE", k_uri, "0a4f113b", 1};
        if (const auto bad = make_digest_credentials(*challenge, wrong)) {
            const std::string bad_header = to_header_value(*bad);
            if (auth.verify(&bad_header, "DESCRIBE", k_uri, k_now).verdict == DigestVerdict::ok)
                __builtin_trap();
        }
    }
    return 0;
}
