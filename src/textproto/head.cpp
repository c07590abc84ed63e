#include "textproto/head.hpp"

#include "common/text.hpp"

namespace sg::textproto {

Line next_line(std::string_view in, std::size_t pos, std::size_t limit, LoneCr lone_cr) noexcept {
    Line line;
    for (std::size_t i = pos; i < in.size(); ++i) {
        if (i >= limit) {
            line.status = LineStatus::too_long;
            return line;
        }
        const char c = in[i];
        if (c == '\n') {
            line.status = LineStatus::found;
            line.text = in.substr(pos, i - pos);
            if (!line.text.empty() && line.text.back() == '\r') line.text.remove_suffix(1);
            line.next = i + 1;
            return line;
        }
        if (c == '\r') {
            if (i + 1 == in.size()) {
                // Where a lone CR ends a line, this CR already ended it within the limit (an LF may still
                // follow and belongs to it). Elsewhere the LF must come, and the limit must leave room for
                // it.
                if (lone_cr == LoneCr::ends_line) return line;
                break;
            }
            if (in[i + 1] == '\n') continue;
            if (lone_cr == LoneCr::rejected) {
                line.status = LineStatus::bare_cr;
                return line;
            }
            line.status = LineStatus::found;
            line.text = in.substr(pos, i - pos);
            line.next = i + 1;
            return line;
        }
        if (is_ctl(c) && c != '\t') {
            line.status = LineStatus::control_char;
            return line;
        }
    }
    // Whatever arrives next would end the line at or past the limit.
    if (in.size() >= limit) line.status = LineStatus::too_long;
    return line;
}

std::string_view describe(FieldsError error) noexcept {
    switch (error) {
        case FieldsError::none:
            return "no error";
        case FieldsError::too_large:
            return "header section too large";
        case FieldsError::too_many:
            return "too many header fields";
        case FieldsError::control_char:
            return "control character in header";
        case FieldsError::bare_cr:
            return "bare CR in header";
        case FieldsError::obsolete_folding:
            return "obsolete line folding";
        case FieldsError::continuation_first:
            return "continuation line before any header";
        case FieldsError::no_colon:
            return "header line without colon";
        case FieldsError::invalid_name:
            return "invalid header name";
    }
    return "invalid header";
}

namespace {

FieldsError line_error(LineStatus status) noexcept {
    switch (status) {
        case LineStatus::too_long:
            return FieldsError::too_large;
        case LineStatus::control_char:
            return FieldsError::control_char;
        case LineStatus::bare_cr:
            return FieldsError::bare_cr;
        case LineStatus::found:
        case LineStatus::need_more:
            break;
    }
    return FieldsError::none;
}

}  // namespace

FieldSection parse_fields(std::string_view in, std::size_t pos, std::size_t limit, std::size_t max_fields,
                          const Rules& rules, std::vector<Field>& fields) {
    FieldSection out;
    auto fail = [&out](FieldsError error) {
        out.status = ParseStatus::error;
        out.error = error;
        return out;
    };
    const std::size_t first = fields.size();
    for (;;) {
        // A field line must leave room for the empty line's LF after it, so a line that can no longer be
        // followed by one fails as soon as that is certain. Until its first byte arrives, the next line may
        // still be the empty one.
        const bool empty_line_next = pos >= in.size() || in[pos] == '\r' || in[pos] == '\n';
        const std::size_t line_limit = empty_line_next || limit == 0 ? limit : limit - 1;
        const Line line = next_line(in, pos, line_limit, rules.lone_cr);
        if (line.status == LineStatus::need_more) return out;
        if (line.status != LineStatus::found) return fail(line_error(line.status));
        pos = line.next;
        if (line.text.empty()) {
            out.status = ParseStatus::done;
            out.end = pos;
            return out;
        }
        if (is_space_or_tab(line.text.front())) {
            if (rules.folding == Folding::rejected) return fail(FieldsError::obsolete_folding);
            if (fields.size() == first) return fail(FieldsError::continuation_first);
            const auto more = trim(line.text);
            auto& value = fields.back().value;
            if (!more.empty()) {
                if (!value.empty()) value.push_back(' ');
                value.append(more);
            }
            continue;
        }
        const auto colon = line.text.find(':');
        if (colon == std::string_view::npos) return fail(FieldsError::no_colon);
        const auto name = line.text.substr(0, colon);
        // A space before the colon is not a token character, so "Host : x" fails here (RFC 9112 5.1).
        if (!is_token(name)) return fail(FieldsError::invalid_name);
        if (fields.size() - first >= max_fields) return fail(FieldsError::too_many);
        fields.push_back(Field{std::string(name), std::string(trim(line.text.substr(colon + 1)))});
    }
}

}  // namespace sg::textproto
