// Fuzzes the admin listener's HTTP/1.x request-head parser and response builder, and checks that
//   - need_more consumes nothing and only happens below the head limit (a caller never buffers more),
//   - a failed parse carries one of the statuses a server answers with,
//   - every strict prefix of a parsed head is need_more,
//   - parse -> to_string -> parse gives the same request, and serializing again gives the same bytes,
//   - with tiny limits, whatever parses also parses with the defaults (limits only ever reject),
//   - response() frames any body with a matching Content-Length and never lets a field add a line,
//   - parse_response (streamgate ctl's side) reads back what response() wrote, and on any input never hands
//     out more body than there is.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/http_request.hpp"
#include "http/http_response.hpp"

namespace {

using namespace sg::http;

void check_status(const ParsedRequest& parsed) {
    if (!parsed.failed()) return;
    switch (parsed.error_status) {
        case 400:
        case 413:
        case 431:
        case 501:
        case 505:
            break;
        default:
            __builtin_trap();
    }
    if (parsed.error.empty()) __builtin_trap();
}

void check_round_trip(const Request& request) {
    const std::string wire = to_string(request);
    const auto back = parse_request(wire);
    if (!back.done() || back.consumed != wire.size()) __builtin_trap();
    if (!(back.value == request)) __builtin_trap();
    if (to_string(back.value) != wire) __builtin_trap();
}

void check_small_limits(sg::Bytes input) {
    Limits limits;
    limits.max_head = 64;
    limits.max_headers = 3;
    const auto small = parse_request(input, limits);
    check_status(small);
    if (small.need_more() && input.size() >= limits.max_head) __builtin_trap();
    if (!small.done()) return;
    const auto relaxed = parse_request(input);
    if (!relaxed.done() || relaxed.consumed != small.consumed || !(relaxed.value == small.value))
        __builtin_trap();
}

// Uses the input as a body and, split at its first newline, as content type and an extra field.
void check_response(std::string_view text) {
    const int status = text.empty() ? 200 : 100 + static_cast<unsigned char>(text[0]) * 2;
    const auto newline = text.find('\n');
    const std::string_view content_type = text.substr(0, newline == std::string_view::npos ? 0 : newline);
    const Header extra[] = {{"X-Fuzz", std::string(content_type)}};
    const std::string out = response(status, content_type, text, extra);

    const auto head_end = out.find("\r\n\r\n");
    if (head_end == std::string::npos) __builtin_trap();
    const std::string_view head = std::string_view(out).substr(0, head_end + 2);
    const std::string_view body = std::string_view(out).substr(head_end + 4);
    // Fixed lines: status, Content-Type (when given), Content-Length (unless 204), X-Fuzz, Connection.
    std::size_t lines = 0;
    for (std::size_t at = head.find('\n'); at != std::string_view::npos; at = head.find('\n', at + 1))
        ++lines;
    const std::size_t expected_lines = 3 + (content_type.empty() ? 0 : 1) + (status == 204 ? 0 : 1);
    if (lines != expected_lines) __builtin_trap();
    if (head.find('\r') == std::string_view::npos || head.find('\0') != std::string_view::npos)
        __builtin_trap();
    if (status == 204) {
        if (!body.empty()) __builtin_trap();
        return;
    }
    if (body != text) __builtin_trap();
    // A field value with control characters (which response() leaves but for CR, LF and NUL) is refused by
    // the strict field parser; the admin listener never writes one.
    bool plain_fields = true;
    for (const char c : content_type)
        if ((static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\r' && c != '\0') || c == 0x7f)
            plain_fields = false;
    const auto back = parse_response(out);
    // response() writes a status outside 200..599 (no 1xx: it always has a body) as 500.
    const int written = status >= 200 && status <= 599 ? status : 500;
    if (plain_fields && (!back || back->body != text || back->status != written)) __builtin_trap();
    const std::string length_line = "\r\nContent-Length: " + std::to_string(text.size()) + "\r\n";
    if (head.find(length_line) == std::string_view::npos) __builtin_trap();
    if (response_head(status, content_type, text.size(), extra) !=
        std::string_view(out).substr(0, head_end + 4))
        __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const sg::Bytes input(data, size);
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const Limits defaults;

    const auto parsed = parse_request(input);
    check_status(parsed);
    if (!parsed.done() && parsed.consumed != 0) __builtin_trap();
    if (parsed.need_more() && size >= defaults.max_head) __builtin_trap();
    if (parsed.done()) {
        if (parsed.consumed == 0 || parsed.consumed > size || parsed.consumed > defaults.max_head)
            __builtin_trap();
        for (const std::size_t cut : {parsed.consumed - 1, parsed.consumed / 2, std::size_t{0}}) {
            if (!parse_request(input.first(cut)).need_more()) __builtin_trap();
        }
        if (parsed.value.headers.size() > defaults.max_headers) __builtin_trap();
        check_round_trip(parsed.value);
        (void)target_path(parsed.value.target);
    }
    check_small_limits(input);
    check_response(text.substr(0, 4096));
    if (const auto response = parse_response(text)) {
        if (response->body.size() > size || response->status < 0 || response->status > 999) __builtin_trap();
    }
    return 0;
}
