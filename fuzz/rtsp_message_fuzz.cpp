// Fuzzes the RTSP stream parser: parses items off the input until it stops, and checks that
//   - every prefix of an item's bytes is reported as incomplete (need_more), never as done or error,
//   - requests and responses survive to_string -> parse_item unchanged (Content-Length aside, which the
//     serializer derives from the body), and serializing again gives the same bytes,
//   - interleaved frames survive append_interleaved -> parse_item,
//   - with tiny limits, whatever parses also parses with the defaults (limits only ever reject).
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "common/text.hpp"
#include "rtsp/message.hpp"

namespace {

using namespace sg::rtsp;

// Serializing may lengthen a message (": " after names, CRLF endings, a default reason, Content-Length),
// so the re-parse gets room to spare; the original parse used the defaults.
Limits roomy_limits() {
    Limits limits;
    limits.max_start_line *= 2;
    limits.max_header_bytes *= 4;
    return limits;
}

bool same_headers_except_length(const Headers& a, const Headers& b) {
    std::vector<Header> x;
    std::vector<Header> y;
    for (const auto& h : a) {
        if (!sg::iequals(h.name, "Content-Length")) x.push_back(h);
    }
    for (const auto& h : b) {
        if (!sg::iequals(h.name, "Content-Length")) y.push_back(h);
    }
    return x == y;
}

template <class Message>
Message reparse(const std::string& wire) {
    auto parsed = parse_item(std::string_view(wire), roomy_limits());
    if (!parsed.done() || parsed.consumed != wire.size()) __builtin_trap();
    auto* message = std::get_if<Message>(&parsed.value);
    if (message == nullptr) __builtin_trap();
    return std::move(*message);
}

void check_request(const Request& request) {
    const std::string wire = to_string(request);
    const Request back = reparse<Request>(wire);
    if (back.method != request.method || back.uri != request.uri || !(back.version == request.version) ||
        back.body != request.body || !same_headers_except_length(back.headers, request.headers)) {
        __builtin_trap();
    }
    if (to_string(back) != wire) __builtin_trap();
}

void check_response(const Response& response) {
    const std::string wire = to_string(response);
    const Response back = reparse<Response>(wire);
    const std::string_view reason =
        response.reason.empty() ? reason_phrase(response.status) : std::string_view(response.reason);
    if (!(back.version == response.version) || back.status != response.status || back.reason != reason ||
        back.body != response.body || !same_headers_except_length(back.headers, response.headers)) {
        __builtin_trap();
    }
    if (to_string(back) != wire) __builtin_trap();
}

void check_frame(const InterleavedFrame& frame) {
    std::vector<std::uint8_t> wire;
    if (!append_interleaved(wire, frame.channel, frame.payload)) __builtin_trap();
    const auto parsed = parse_item(sg::Bytes(wire));
    if (!parsed.done() || parsed.consumed != wire.size()) __builtin_trap();
    const auto* back = std::get_if<InterleavedFrame>(&parsed.value);
    if (back == nullptr || !(*back == frame)) __builtin_trap();
}

// Tiny limits so that inputs the fuzzer can build reach every limit check; only framing is checked here.
void check_framing_with_small_limits(sg::Bytes input) {
    Limits limits;
    limits.max_blank_prefix = 16;
    limits.max_start_line = 64;
    limits.max_header_bytes = 256;
    limits.max_headers = 8;
    limits.max_body = 512;
    for (int items = 0; items < 4096 && !input.empty(); ++items) {
        const auto parsed = parse_item(input, limits);
        if (!parsed.done()) break;
        if (parsed.consumed == 0 || parsed.consumed > input.size()) __builtin_trap();
        if (!parse_item(input.first(parsed.consumed - 1), limits).need_more()) __builtin_trap();
        // Whatever fits the small limits fits the defaults too, with the same length.
        const auto relaxed = parse_item(input);
        if (!relaxed.done() || relaxed.consumed != parsed.consumed) __builtin_trap();
        input = input.subspan(parsed.consumed);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    check_framing_with_small_limits(sg::Bytes(data, size));
    sg::Bytes input(data, size);
    for (int items = 0; items < 4096 && !input.empty(); ++items) {
        const auto parsed = parse_item(input);
        if (parsed.need_more() && parsed.consumed != 0) __builtin_trap();
        if (!parsed.done()) break;
        if (parsed.consumed == 0 || parsed.consumed > input.size()) __builtin_trap();

        // The stream may be cut anywhere: a shorter prefix must only ask for more.
        for (const std::size_t cut : {parsed.consumed - 1, parsed.consumed / 2}) {
            if (!parse_item(input.first(cut)).need_more()) __builtin_trap();
        }

        if (const auto* request = std::get_if<Request>(&parsed.value)) check_request(*request);
        if (const auto* response = std::get_if<Response>(&parsed.value)) check_response(*response);
        if (const auto* frame = std::get_if<InterleavedFrame>(&parsed.value)) check_frame(*frame);
        input = input.subspan(parsed.consumed);
    }
    return 0;
}
