// libFuzzer target for the typed RTSP header helpers (rtsp/transport, session_header, range, rtp_info,
// play_rate, simple_headers, auth). The first input byte picks the helper, the rest is the header value.
// Properties checked (a violation traps):
//   - every parser terminates without a sanitizer report on any input;
//   - round trip: parse(value) = v  =>  parse(format(v)) succeeds and equals v;
//   - formatted values never contain CR, LF or other controls (no header injection through a gateway);
//   - base64: decode(encode(x)) == x, and decode is canonical (encode(decode(s)) == s);
//   - Digest: credentials answering a parsed challenge verify, and a recomputed response verifies.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "rtsp/auth.hpp"
#include "rtsp/play_rate.hpp"
#include "rtsp/range.hpp"
#include "rtsp/rtp_info.hpp"
#include "rtsp/session_header.hpp"
#include "rtsp/simple_headers.hpp"
#include "rtsp/transport.hpp"

namespace {

using namespace sg::rtsp;

void check_clean(std::string_view formatted) {
    if (has_forbidden_control(formatted)) __builtin_trap();
}

template <class Parse, class Format>
void round_trip(std::string_view text, Parse parse, Format format) {
    const auto first = parse(text);
    if (!first) return;
    const std::string formatted = format(*first);
    check_clean(formatted);
    const auto second = parse(formatted);
    if (!second) __builtin_trap();
    if (!(*second == *first)) __builtin_trap();
}

void fuzz_base64(std::string_view text) {
    const auto decoded = base64_decode(base64_encode(text));
    if (!decoded || *decoded != text) __builtin_trap();
    if (const auto raw = base64_decode(text)) {
        if (base64_encode(*raw) != text) __builtin_trap();
    }
}

void fuzz_quoting(std::string_view text) {
    const auto back = unquote(quote(text));
    if (!back) __builtin_trap();
    std::string expected;
    for (const char c : text) {
        if (!is_forbidden_control(c)) expected.push_back(c);
    }
    if (*back != expected) __builtin_trap();
    if (const auto items = split_unquoted(text, ',', 64)) {
        if (items->empty() || items->size() > 64) __builtin_trap();
    }
}

void fuzz_digest_challenge(std::string_view text) {
    round_trip(text, find_digest_challenge, [](const DigestChallenge& c) { return to_header_value(c); });
    const auto challenge = find_digest_challenge(text);
    if (!challenge) return;
    const DigestClientInput input{"user", "secret", "DESCRIBE", "rtsp://h/s", "0a4f113b", 1};
    const auto creds = make_digest_credentials(*challenge, input);
    if (!creds) return;
    if (!verify_digest(*creds, "secret", "DESCRIBE")) __builtin_trap();
    if (verify_digest(*creds, "Secret", "DESCRIBE")) __builtin_trap();
    const auto reparsed = parse_authorization(to_header_value(*creds));
    if (!reparsed || !(std::get<DigestCredentials>(*reparsed) == *creds)) __builtin_trap();
}

void fuzz_authorization(std::string_view text) {
    round_trip(text, parse_authorization, [](const Authorization& a) { return to_header_value(a); });
    const auto parsed = parse_authorization(text);
    if (!parsed) return;
    if (const auto* digest = std::get_if<DigestCredentials>(&*parsed)) {
        auto copy = *digest;
        const auto response = digest_response(copy, "pw", "PLAY");
        if (!response) return;
        copy.response = *response;
        if (!verify_digest(copy, "pw", "PLAY")) __builtin_trap();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
    switch (data[0] % 16) {
        case 0:
            round_trip(text, parse_transport, [](const std::vector<TransportSpec>& specs) {
                return to_header_value(std::span<const TransportSpec>(specs));
            });
            break;
        case 1:
            round_trip(text, parse_transport_spec, [](const TransportSpec& s) { return to_header_value(s); });
            break;
        case 2:
            round_trip(text, parse_session, [](const SessionHeader& s) { return to_header_value(s); });
            break;
        case 3:
            round_trip(text, parse_range, [](const Range& r) { return to_header_value(r); });
            break;
        case 4:
            round_trip(text, parse_rtp_info, [](const std::vector<RtpInfoEntry>& entries) {
                return to_header_value(std::span<const RtpInfoEntry>(entries));
            });
            break;
        case 5:
            round_trip(text, parse_cseq, format_cseq);
            break;
        case 6:
            round_trip(text, parse_content_base, [](const std::string& url) { return url; });
            break;
        case 7:
            round_trip(text, parse_method_list,
                       [](const std::vector<std::string>& list) { return format_token_list(list); });
            break;
        case 8:
            round_trip(text, parse_option_tags,
                       [](const std::vector<std::string>& list) { return format_token_list(list); });
            break;
        case 9:
            round_trip(text, parse_content_type, [](const ContentType& c) { return to_header_value(c); });
            break;
        case 10:
            round_trip(text, parse_challenges, [](const std::vector<Challenge>& challenges) {
                return to_header_value(std::span<const Challenge>(challenges));
            });
            break;
        case 11:
            fuzz_digest_challenge(text);
            break;
        case 12:
            fuzz_authorization(text);
            break;
        case 13:
            fuzz_base64(text);
            break;
        case 14:
            // Scale and Speed: what parses formats (three decimals, rounded) to a value that parses again,
            // within half a thousandth of the first (plus the error of summing decimal digits in binary),
            // and formats to the same text again.
            for (const auto parse : {parse_scale, parse_speed}) {
                if (const auto rate = parse(text); rate && std::fabs(*rate) >= 0.001) {
                    const std::string once = format_rate(*rate);
                    const auto again = parse_scale(once);
                    if (!again || std::fabs(*again - *rate) > 0.0005 + 1e-9 || format_rate(*again) != once)
                        __builtin_trap();
                }
            }
            break;
        default:
            fuzz_quoting(text);
            break;
    }
    return 0;
}
