// Fuzzes RTSP over WebSocket's pure half (websocket/handshake.hpp, websocket/codec.hpp). The first three
// bytes pick the message limit and two split points; the rest is what a peer sent. Checks that
//   - a request head that asks to upgrade is accepted with a 101 carrying a 28-character accept value, or
//     refused with 400, 405 or 426;
//   - the frame decoder gives the same data fed whole or in three pieces, never more data than it was
//     given, a close frame whenever it is closing, and reads nothing once closing.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "http/http_request.hpp"
#include "websocket/codec.hpp"
#include "websocket/handshake.hpp"

namespace {

using namespace sg;
using Buffer = std::vector<std::uint8_t>;

void check_handshake(std::string_view in) {
    const auto request = http::parse_request(in);
    if (!request.done() || !websocket::is_upgrade(request.value)) return;
    const auto upgrade = websocket::parse_upgrade(request.value);
    if (upgrade.failed()) {
        const int s = upgrade.error_status;
        if (s != 400 && s != 405 && s != 426) __builtin_trap();
        return;
    }
    if (!upgrade.done() || upgrade.value.key.size() != 24) __builtin_trap();
    if (websocket::accept_value(upgrade.value.key).size() != 28) __builtin_trap();
    if (!websocket::accept_reply(upgrade.value).starts_with("HTTP/1.1 101 Switching Protocols\r\n"))
        __builtin_trap();
}

struct Decoded {
    Buffer data;
    Buffer control;
    websocket::Codec::State state = websocket::Codec::State::open;
};

Decoded decode(sg::Bytes in, std::size_t max_message, std::size_t a, std::size_t b) {
    websocket::Codec codec(websocket::Role::server, max_message);
    Decoded out;
    const std::size_t cuts[] = {0, a, b, in.size()};
    for (std::size_t i = 0; i + 1 < std::size(cuts); ++i) {
        const auto before = out.data.size();
        const auto was = out.state;
        out.state = codec.feed(in.subspan(cuts[i], cuts[i + 1] - cuts[i]), out.data, out.control);
        if (was == websocket::Codec::State::closing) {
            if (out.data.size() != before || out.state != was) __builtin_trap();  // read nothing more
        }
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 3) return 0;
    const std::size_t max_message = 16 + data[0] * 4u;
    const sg::Bytes in(data + 3, size - 3);
    std::size_t a = in.empty() ? 0 : data[1] % (in.size() + 1);
    std::size_t b = in.empty() ? 0 : data[2] % (in.size() + 1);
    if (a > b) std::swap(a, b);

    check_handshake(std::string_view(reinterpret_cast<const char*>(in.data()), in.size()));

    const auto whole = decode(in, max_message, in.size(), in.size());
    const auto pieces = decode(in, max_message, a, b);
    // The answers and the moment of closing may differ: a pong flushed between two reads goes out while one
    // still queued when a protocol error follows in the same read is dropped for the close frame, and wslay
    // may judge an invalid close frame before its end when more of it came in one read. The data may not.
    if (whole.data != pieces.data) __builtin_trap();
    // Closing always follows a close frame of ours (the answer to the peer's, or 1002/1009).
    for (const auto* decoded : {&whole, &pieces}) {
        if (decoded->state == websocket::Codec::State::closing && decoded->control.empty()) __builtin_trap();
    }
    if (whole.data.size() > in.size()) __builtin_trap();
    return 0;
}
