// Fuzzes the head framer shared by HTTP/1.x and RTSP under both protocols' rules, and checks that
//   - a done section ends within the input and the limit, holds at most max_fields fields, and every field
//     name is a non-empty token without CR, LF or control characters in name or value,
//   - need_more happens only while the input is shorter than the limit (a caller never buffers more), but for
//     one byte of lookahead after a CR at the limit where a lone CR ends a line (RTSP),
//   - every strict prefix of a done section is need_more or the same result, never an error
//     (an error must not depend on where the bytes were cut),
//   - the HTTP rules never accept what the RTSP rules reject (HTTP is the stricter set).
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "common/text.hpp"
#include "textproto/head.hpp"

namespace {

using namespace sg::textproto;

constexpr std::size_t k_max_fields = 16;

FieldSection run(std::string_view in, std::size_t limit, const Rules& rules, std::vector<Field>& fields) {
    fields.clear();
    return parse_fields(in, 0, limit, k_max_fields, rules, fields);
}

void check(std::string_view in, std::size_t limit, const Rules& rules) {
    std::vector<Field> fields;
    const auto section = run(in, limit, rules, fields);
    if (section.done()) {
        if (section.end > in.size() || section.end > limit || fields.size() > k_max_fields) __builtin_trap();
        for (const auto& f : fields) {
            if (!sg::is_token(f.name)) __builtin_trap();
            for (const char c : f.value) {
                if (sg::is_ctl(c) && c != '\t') __builtin_trap();
            }
        }
        for (std::size_t cut = 0; cut < section.end; ++cut) {
            std::vector<Field> partial;
            if (run(in.substr(0, cut), limit, rules, partial).failed()) __builtin_trap();
        }
    } else if (section.status == sg::ParseStatus::need_more && in.size() >= limit) {
        // One exception, by design of RFC 2326's line endings: where a lone CR ends a line, a CR as the last
        // byte at the limit may still be the first half of a CRLF, so one more byte is asked for.
        const bool cr_lookahead =
            rules.lone_cr == LoneCr::ends_line && in.size() == limit && in.back() == '\r';
        if (!cr_lookahead) __builtin_trap();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::size_t limit = 16 + data[0] * 4u;  // 16..1036: small limits reach the boundaries
    const std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
    check(in, limit, k_http);
    check(in, limit, k_rtsp);
    std::vector<Field> http;
    std::vector<Field> rtsp;
    if (run(in, limit, k_http, http).done() && !run(in, limit, k_rtsp, rtsp).done()) __builtin_trap();
    return 0;
}
