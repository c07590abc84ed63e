#pragma once
// The head of a text-protocol message: lines, then header fields up to the empty line. HTTP/1.x and RTSP
// share one framer so that their rules cannot drift apart; where the RFCs differ, the difference is a named
// rule, not a second copy:
//   - line endings: CRLF or a bare LF in both (RFC 9112 section 2.2); RTSP/1.0 also ends a line at a lone CR
//     (RFC 2326 section 4), HTTP rejects it (a lone CR is a request-smuggling vector there);
//   - obsolete line folding: RFC 9112 section 5.2 lets a server reject it; RTSP/1.0 takes HTTP/1.1's LWS rule
//     (RFC 2616 section 2.2) and joins the lines with one space.
// Both refuse every control character but HT in a head, byte by byte as it arrives, so binary garbage (a
// TLS ClientHello, say) is rejected at once instead of after buffering a whole head.
// Pure code: no I/O, no exceptions, bounded by the caller's limits.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/parse.hpp"

namespace sg::textproto {

enum class LoneCr : std::uint8_t { rejected, ends_line };
enum class Folding : std::uint8_t { rejected, joined };

struct Rules {
    LoneCr lone_cr = LoneCr::rejected;
    Folding folding = Folding::rejected;
};

inline constexpr Rules k_http{LoneCr::rejected, Folding::rejected};
inline constexpr Rules k_rtsp{LoneCr::ends_line, Folding::joined};

struct Field {
    std::string name;   // a token, spelling kept
    std::string value;  // without leading and trailing whitespace

    bool operator==(const Field&) const = default;
};

enum class LineStatus : std::uint8_t { found, need_more, too_long, control_char, bare_cr };

struct Line {
    LineStatus status = LineStatus::need_more;
    std::string_view text;  // without its line ending
    std::size_t next = 0;   // offset just past the line ending
};

// The line starting at `pos`. The line, its ending included, must end before offset `limit`: too_long as
// soon as that cannot be. A CR that is the last byte available is need_more (an LF may follow).
Line next_line(std::string_view in, std::size_t pos, std::size_t limit, LoneCr lone_cr) noexcept;

enum class FieldsError : std::uint8_t {
    none,
    too_large,           // the section does not end before the limit
    too_many,            // more than max_fields fields (a folded field counts once)
    control_char,        // a control character other than HT
    bare_cr,             // a CR not followed by LF, where a lone CR ends no line
    obsolete_folding,    // a continuation line, where folding is rejected
    continuation_first,  // a continuation line before any field
    no_colon,            // a line that is not "name: value"
    invalid_name,        // a name that is not a token ("Host : x" included)
};

// A short English description, for logs and error replies.
std::string_view describe(FieldsError error) noexcept;

struct FieldSection {
    ParseStatus status = ParseStatus::need_more;
    FieldsError error = FieldsError::none;  // when status is error
    std::size_t end = 0;                    // when done: the offset just past the empty line

    bool done() const noexcept { return status == ParseStatus::done; }
    bool failed() const noexcept { return status == ParseStatus::error; }
};

// Parses header lines from `pos` up to and including the empty line, appending to `fields`. The section
// must end before offset `limit` and hold at most `max_fields` fields.
FieldSection parse_fields(std::string_view in, std::size_t pos, std::size_t limit, std::size_t max_fields,
                          const Rules& rules, std::vector<Field>& fields);

}  // namespace sg::textproto
