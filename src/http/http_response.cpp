#include "http/http_response.hpp"

#include "common/text.hpp"
#include "textproto/head.hpp"

namespace sg::http {
namespace {

constexpr std::size_t k_max_head = 16 * k_kib;
constexpr std::size_t k_max_fields = 100;

bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}

}  // namespace

const std::string* Response::header(std::string_view name) const noexcept {
    for (const auto& h : headers)
        if (iequals(h.name, name)) return &h.value;
    return nullptr;
}

Result<Response> parse_response(std::string_view whole) {
    const auto line = textproto::next_line(whole, 0, k_max_head, textproto::LoneCr::rejected);
    if (line.status != textproto::LineStatus::found) return fail("no complete status line");
    // HTTP-version SP 3DIGIT SP [reason-phrase]
    const std::string_view status_line = line.text;
    if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12 || status_line[8] != ' ' ||
        !is_digit(status_line[9]) || !is_digit(status_line[10]) || !is_digit(status_line[11]) ||
        (status_line.size() > 12 && status_line[12] != ' ')) {
        return fail("not an HTTP/1.x status line");
    }
    Response response;
    response.status = (status_line[9] - '0') * 100 + (status_line[10] - '0') * 10 + (status_line[11] - '0');
    const auto fields = textproto::parse_fields(whole, line.next, k_max_head, k_max_fields, textproto::k_http,
                                                response.headers);
    if (!fields.done()) return fail("malformed or incomplete header fields");
    std::string_view body = whole.substr(fields.end);
    if (const std::string* length = response.header("Content-Length")) {
        const auto n = parse_uint<std::size_t>(trim(*length));
        if (!n) return fail("invalid Content-Length");
        if (body.size() < *n) return fail("body shorter than its Content-Length");
        body = body.substr(0, *n);
    }
    response.body = std::string(body);
    return response;
}

}  // namespace sg::http
