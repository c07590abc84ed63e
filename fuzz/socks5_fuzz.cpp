// Fuzzes every SOCKS5 parser (RFC 1928, RFC 1929). The first input byte selects the parser; the rest is
// the message. Beyond "never crash", it checks the properties callers rely on:
//   - done never consumes more than it was given, and every shorter prefix of the item is need_more;
//   - the codec is canonical: building the parsed value reproduces the consumed bytes exactly, and
//     parsing that again gives the same value.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "socks5/socks5.hpp"

namespace {

using sg::Bytes;
using Frame = std::vector<std::uint8_t>;

void check(bool property) {
    if (!property) __builtin_trap();
}

// Checks the stream-parser contract shared by all Parsed-returning parsers; `build` appends the frame for
// a parsed value.
template <class ParseFn, class BuildFn>
void check_stream_parser(Bytes in, ParseFn parse, BuildFn build) {
    const auto p = parse(in);
    if (p.need_more() || p.failed()) {
        check(p.consumed == 0);
        if (p.failed()) check(!p.error.empty());
        return;
    }
    check(p.consumed > 0 && p.consumed <= in.size());
    const Bytes item = in.first(p.consumed);
    for (std::size_t n = 0; n < item.size(); ++n)
        check(parse(item.first(n)).need_more());

    Frame out;
    check(build(out, p.value));
    check(out.size() == item.size() && std::equal(out.begin(), out.end(), item.begin()));
    const auto again = parse(Bytes(out));
    check(again.done() && again.consumed == out.size() && again.value == p.value);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace sg::socks;
    if (size == 0) return 0;
    const Bytes in(data + 1, size - 1);

    switch (data[0] % 7) {
        case 0:
            check_stream_parser(in, parse_method_request, [](Frame& out, const MethodRequest& v) {
                return build_method_request(out, v.methods);
            });
            break;
        case 1:
            check_stream_parser(in, parse_method_selection, [](Frame& out, Method v) {
                build_method_selection(out, v);
                return true;
            });
            break;
        case 2:
            check_stream_parser(in, parse_auth_request, [](Frame& out, const AuthRequest& v) {
                return build_auth_request(out, v.username, v.password);
            });
            break;
        case 3:
            // build_auth_reply only encodes success (0x00) or failure (0x01), so compare meaning.
            if (const auto p = parse_auth_reply(in); p.done()) {
                check(p.consumed == 2);
                Frame out;
                build_auth_reply(out, p.value.success());
                const auto again = parse_auth_reply(Bytes(out));
                check(again.done() && again.value.success() == p.value.success());
            } else {
                check(p.consumed == 0);
            }
            break;
        case 4: {
            check_stream_parser(in, parse_request, [](Frame& out, const Request& v) {
                return build_request(out, v.command, v.destination);
            });
            const auto p = parse_request(in);
            // Only the three RFC reasons may reach the server.
            if (p.failed()) {
                check(p.error_reply == Reply::general_failure ||
                      p.error_reply == Reply::command_not_supported ||
                      p.error_reply == Reply::address_type_not_supported);
            }
            if (p.done()) {
                check(p.value.destination.wire_size() + 3 == p.consumed);
                check(!p.value.destination.to_string().empty());
            }
            break;
        }
        case 5:
            check_stream_parser(in, parse_reply, [](Frame& out, const ReplyMessage& v) {
                build_reply(out, v.reply, v.bound);
                return true;
            });
            break;
        case 6: {
            const auto d = parse_udp_datagram(in);
            if (!d) {
                check(!d.error().empty());
                break;
            }
            check(d->data.data() + d->data.size() == in.data() + in.size());
            Frame out;
            build_udp_datagram(out, d->header, d->data);
            check(out.size() == in.size() && std::equal(out.begin(), out.end(), in.begin()));
            const auto again = parse_udp_datagram(Bytes(out));
            check(again.ok() && again->header == d->header && again->data.size() == d->data.size());
            break;
        }
    }
    return 0;
}
