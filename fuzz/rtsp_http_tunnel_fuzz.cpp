// Fuzzes the pure half of RTSP tunnelled in HTTP (http/rtsp_tunnel.hpp, http/base64_decoder.hpp). The first
// two bytes pick split points; the rest is what a peer sent. Checks that
//   - the first-bytes classification of every prefix is need_more or the whole input's answer, once the
//     first line is complete (a decision never depends on where the bytes were cut);
//   - a parsed tunnel head lies within the input, names GET or POST with a cookie of 1..k_max_cookie visible
//     characters, and every strict prefix of it is need_more; a failed head has an HTTP error status;
//   - the base64 decoder gives the same bytes and the same verdict fed whole or in three pieces, never more
//     than 3 bytes per 4 input bytes, and refuses everything after a refusal;
//   - the cookie table, driven by the same bytes as register/claim/release/remove at moving times, never
//     holds more than its capacity and never hands one cookie to two POSTs at once.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "http/base64_decoder.hpp"
#include "http/rtsp_tunnel.hpp"

namespace {

using namespace sg::http;

void check_classification(std::string_view in) {
    const auto whole = classify_first_bytes(in, 256);
    for (std::size_t cut = 0; cut <= in.size(); ++cut) {
        const auto part = classify_first_bytes(in.substr(0, cut), 256);
        if (part != FirstBytes::need_more && part != whole) __builtin_trap();
    }
}

void check_head(std::string_view in) {
    const auto head = parse_tunnel_head(in);
    if (head.failed()) {
        if (head.error_status < 400 || head.error_status > 599) __builtin_trap();
        return;
    }
    if (!head.done()) return;
    if (head.consumed == 0 || head.consumed > in.size()) __builtin_trap();
    const auto& cookie = head.value.cookie;
    if (cookie.empty() || cookie.size() > k_max_cookie) __builtin_trap();
    for (const char c : cookie) {
        if (c <= ' ' || c >= 0x7f) __builtin_trap();
    }
    for (std::size_t cut = 0; cut < head.consumed; ++cut) {
        if (!parse_tunnel_head(in.substr(0, cut)).need_more()) __builtin_trap();
    }
}

void check_base64(std::string_view in, std::size_t a, std::size_t b) {
    Base64Decoder whole;
    std::vector<std::uint8_t> whole_out;
    const bool whole_ok = whole.feed(in, whole_out);
    if (whole_out.size() > in.size() / 4 * 3 + 3) __builtin_trap();

    if (a > b) std::swap(a, b);
    Base64Decoder pieces;
    std::vector<std::uint8_t> pieces_out;
    const bool pieces_ok = pieces.feed(in.substr(0, a), pieces_out) &&
                           pieces.feed(in.substr(a, b - a), pieces_out) &&
                           pieces.feed(in.substr(b), pieces_out);
    if (whole_ok != pieces_ok) __builtin_trap();
    if (whole_ok && (whole_out != pieces_out || whole.at_boundary() != pieces.at_boundary()))
        __builtin_trap();
    if (!whole_ok && (!whole.failed() || whole.feed("QUJD", whole_out))) __builtin_trap();
}

void check_cookies(std::string_view in) {
    using Table = TunnelCookies<int>;
    constexpr std::size_t k_capacity = 4;
    Table table(k_capacity, std::chrono::seconds(10));
    Table::Clock::time_point now{};
    std::vector<std::uint64_t> claims(8, 0);  // per cookie: the generation of the POST holding it, 0 = none
    for (std::size_t i = 0; i + 1 < in.size(); i += 2) {
        const auto op = static_cast<std::uint8_t>(in[i]) % 5;
        const auto which = static_cast<std::uint8_t>(in[i + 1]) % 8;
        const std::string cookie(1, static_cast<char>('a' + which));
        switch (op) {
            case 0:
                (void)table.register_get(cookie, which, now);
                break;
            case 1: {
                const auto claim = table.claim_post(cookie, now);
                if (claim.get != nullptr) {
                    if (claims[which] != 0) __builtin_trap();  // two POSTs on one cookie
                    claims[which] = claim.generation;
                }
                break;
            }
            case 2:
                table.release(cookie, claims[which]);
                claims[which] = 0;
                break;
            case 3:
                table.remove(cookie);
                claims[which] = 0;
                break;
            default:
                now += std::chrono::seconds(static_cast<std::uint8_t>(in[i + 1]) % 16);
                break;
        }
        if (table.size() > k_capacity) __builtin_trap();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);
    const std::size_t a = in.empty() ? 0 : data[0] % (in.size() + 1);
    const std::size_t b = in.empty() ? 0 : data[1] % (in.size() + 1);
    check_classification(in.substr(0, 512));
    check_head(in.substr(0, 2048));
    check_base64(in, a, b);
    check_cookies(in.substr(0, 256));
    return 0;
}
