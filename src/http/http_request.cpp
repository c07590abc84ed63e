#include "http/http_request.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>

#include "common/text.hpp"

namespace sg::http {

const std::string* Request::header(std::string_view name) const noexcept {
    for (const auto& field : headers) {
        if (iequals(field.name, name)) return &field.value;
    }
    return nullptr;
}

// ---------------------------------------------------------------------------------------------------
// Parser

namespace {

// A request-target is visible ASCII only (RFC 9112 section 3.2: no whitespace, no obs-text).
constexpr bool is_target(std::string_view s) noexcept {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u > 0x20 && u < 0x7f;
    });
}

ParsedRequest fail(std::string_view why, int status) {
    ParsedRequest out;
    out.status = ParseStatus::error;
    out.error = why;
    out.error_status = status;
    return out;
}

ParsedRequest more() {
    return ParsedRequest{};
}

using textproto::LineStatus;

// Maps a request line that was not found to the parse result.
ParsedRequest line_result(LineStatus status) {
    switch (status) {
        case LineStatus::too_long:
            return fail("request head too large", 431);
        case LineStatus::control_char:
            return fail("control character in request head", 400);
        case LineStatus::bare_cr:
            return fail("bare CR in request head", 400);
        case LineStatus::found:
        case LineStatus::need_more:
            break;
    }
    return more();
}

// HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 9112 section 2.3). A well-formed version other than 1.x gets
// 505; anything else is not HTTP and gets 400.
ParsedRequest parse_request_line(std::string_view line, Request& out) {
    const auto first_space = line.find(' ');
    if (first_space == std::string_view::npos) return fail("invalid request line", 400);
    const auto method = line.substr(0, first_space);
    const auto rest = line.substr(first_space + 1);
    const auto second_space = rest.find(' ');
    if (second_space == std::string_view::npos) return fail("invalid request line", 400);
    const auto target = rest.substr(0, second_space);
    const auto version = rest.substr(second_space + 1);
    if (!is_token(method)) return fail("invalid method", 400);
    if (!is_target(target)) return fail("invalid request target", 400);
    const auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
    if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || !is_digit(version[5]) ||
        version[6] != '.' || !is_digit(version[7])) {
        return fail("invalid HTTP version", 400);
    }
    if (version[5] != '1') return fail("HTTP version not supported", 505);
    out.method = std::string(method);
    out.target = std::string(target);
    out.version = Version{version[5] - '0', version[7] - '0'};
    ParsedRequest ok;
    ok.status = ParseStatus::done;
    return ok;
}

// The last coding of a Transfer-Encoding list, e.g. "chunked" for "gzip, chunked".
std::string_view final_coding(std::string_view value) noexcept {
    const auto comma = value.rfind(',');
    return trim(comma == std::string_view::npos ? value : value.substr(comma + 1));
}

// Host and message framing rules that need the whole head (RFC 9112 sections 3.2, 6.1, 6.3). A request
// must not announce a body: we do not read one, and its bytes would be taken for the next request.
ParsedRequest check_head(const Request& request, bool content_length_body) {
    std::size_t hosts = 0;
    const std::string* transfer_encoding = nullptr;
    std::optional<std::uint64_t> content_length;
    for (const auto& field : request.headers) {
        if (iequals(field.name, "Host")) {
            ++hosts;
        } else if (iequals(field.name, "Transfer-Encoding")) {
            transfer_encoding = &field.value;
        } else if (iequals(field.name, "Content-Length")) {
            const auto value = parse_uint<std::uint64_t>(field.value);
            if (!value) return fail("invalid Content-Length", 400);
            if (content_length && *content_length != *value) return fail("conflicting Content-Length", 400);
            content_length = value;
        }
    }
    if (hosts > 1) return fail("more than one Host field", 400);
    if (hosts == 0 && request.version.minor >= 1) return fail("HTTP/1.1 request without Host", 400);
    if (transfer_encoding != nullptr) {
        if (content_length) return fail("both Transfer-Encoding and Content-Length", 400);
        if (request.version.minor == 0) return fail("Transfer-Encoding in an HTTP/1.0 request", 400);
        const auto coding = final_coding(*transfer_encoding);
        if (iequals(coding, "chunked")) return fail("request body not supported", 413);
        for (const std::string_view known : {"gzip", "x-gzip", "deflate", "compress", "x-compress"}) {
            if (iequals(coding, known)) return fail("chunked is not the final transfer coding", 400);
        }
        return fail("unknown transfer coding", 501);
    }
    if (content_length && *content_length > 0 && !content_length_body)
        return fail("request body not supported", 413);
    ParsedRequest ok;
    ok.status = ParseStatus::done;
    return ok;
}

}  // namespace

ParsedRequest parse_request(Bytes input, const Limits& limits) {
    const std::string_view in(reinterpret_cast<const char*>(input.data()), input.size());
    const std::size_t limit = limits.max_head;

    // RFC 9112 section 2.2: empty lines before the request line are ignored (they count toward the limit).
    std::size_t pos = 0;
    textproto::Line line;
    for (;;) {
        line = textproto::next_line(in, pos, limit, textproto::k_http.lone_cr);
        if (line.status != LineStatus::found) {
            // An incomplete request line is rejected early when its method already cannot be a token.
            if (line.status == LineStatus::need_more) {
                const auto partial = in.substr(pos);
                const auto method = partial.substr(0, partial.find(' '));
                const bool cr_only = partial == "\r";
                if (!cr_only && !std::all_of(method.begin(), method.end(), is_token_char))
                    return fail("invalid method", 400);
                if (method.empty() && !partial.empty() && !cr_only) return fail("invalid request line", 400);
            }
            return line_result(line.status);
        }
        pos = line.next;
        if (!line.text.empty()) break;
    }

    Request request;
    if (auto start = parse_request_line(line.text, request); start.failed()) return start;

    const auto fields =
        textproto::parse_fields(in, pos, limit, limits.max_headers, textproto::k_http, request.headers);
    if (fields.status == ParseStatus::need_more) return more();
    if (fields.failed()) {
        const bool too_big = fields.error == textproto::FieldsError::too_large ||
                             fields.error == textproto::FieldsError::too_many;
        return fail(fields.error == textproto::FieldsError::too_large ? "request head too large"
                                                                      : textproto::describe(fields.error),
                    too_big ? 431 : 400);
    }
    pos = fields.end;

    if (auto checked = check_head(request, limits.content_length_body); checked.failed()) return checked;
    ParsedRequest out;
    out.status = ParseStatus::done;
    out.consumed = pos;
    out.value = std::move(request);
    return out;
}

ParsedRequest parse_request(std::string_view input, const Limits& limits) {
    return parse_request(Bytes(reinterpret_cast<const std::uint8_t*>(input.data()), input.size()), limits);
}

// ---------------------------------------------------------------------------------------------------
// Serializers

namespace {

// CR and LF would end the line early and let a field smuggle in another one; NUL is never valid.
void append_field(std::string& out, std::string_view text) {
    for (const char c : text)
        out.push_back((c == '\r' || c == '\n' || c == '\0') ? ' ' : c);
}

}  // namespace

std::string to_string(const Request& request) {
    std::string out;
    out.reserve(64 + request.target.size() + 32 * request.headers.size());
    append_field(out, request.method);
    out.push_back(' ');
    append_field(out, request.target);
    out += " HTTP/";
    out += std::to_string(request.version.major);
    out.push_back('.');
    out += std::to_string(request.version.minor);
    out += "\r\n";
    for (const auto& field : request.headers) {
        append_field(out, field.name);
        out += ": ";
        append_field(out, field.value);
        out += "\r\n";
    }
    out += "\r\n";
    return out;
}

std::string_view target_path(std::string_view target) noexcept {
    if (target.empty()) return {};
    if (target.front() != '/') {
        // absolute-form: scheme "://" authority [path]; anything else (authority-form, "*") has no path.
        const auto scheme_end = target.find("://");
        if (scheme_end == std::string_view::npos || scheme_end == 0) return {};
        target.remove_prefix(scheme_end + 3);
        const auto path_start = target.find_first_of("/?#");
        if (path_start == std::string_view::npos || target[path_start] != '/') return "/";
        target.remove_prefix(path_start);
    }
    return target.substr(0, target.find_first_of("?#"));
}

std::string response_head(int status, std::string_view content_type, std::size_t content_length,
                          std::span<const Header> extra_headers) {
    if (status < 200 || status > 599) status = 500;
    std::string out;
    out.reserve(128 + content_type.size());
    out += "HTTP/1.1 ";
    out += std::to_string(status);
    out.push_back(' ');
    out += reason_phrase(status);
    out += "\r\n";
    if (!content_type.empty()) {
        out += "Content-Type: ";
        append_field(out, content_type);
        out += "\r\n";
    }
    // RFC 9110 section 8.6: no Content-Length in a 204.
    if (status != 204) {
        out += "Content-Length: ";
        out += std::to_string(content_length);
        out += "\r\n";
    }
    for (const auto& field : extra_headers) {
        append_field(out, field.name);
        out += ": ";
        append_field(out, field.value);
        out += "\r\n";
    }
    out += "Connection: close\r\n\r\n";
    return out;
}

std::string response(int status, std::string_view content_type, std::string_view body,
                     std::span<const Header> extra_headers) {
    std::string out = response_head(status, content_type, body.size(), extra_headers);
    if (status != 204) out += body;
    return out;
}

std::string_view reason_phrase(int status) noexcept {
    switch (status) {
        case 100:
            return "Continue";
        case 101:
            return "Switching Protocols";
        case 200:
            return "OK";
        case 201:
            return "Created";
        case 202:
            return "Accepted";
        case 203:
            return "Non-Authoritative Information";
        case 204:
            return "No Content";
        case 205:
            return "Reset Content";
        case 206:
            return "Partial Content";
        case 300:
            return "Multiple Choices";
        case 301:
            return "Moved Permanently";
        case 302:
            return "Found";
        case 303:
            return "See Other";
        case 304:
            return "Not Modified";
        case 305:
            return "Use Proxy";
        case 307:
            return "Temporary Redirect";
        case 308:
            return "Permanent Redirect";
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 402:
            return "Payment Required";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 406:
            return "Not Acceptable";
        case 407:
            return "Proxy Authentication Required";
        case 408:
            return "Request Timeout";
        case 409:
            return "Conflict";
        case 410:
            return "Gone";
        case 411:
            return "Length Required";
        case 412:
            return "Precondition Failed";
        case 413:
            return "Content Too Large";
        case 414:
            return "URI Too Long";
        case 415:
            return "Unsupported Media Type";
        case 416:
            return "Range Not Satisfiable";
        case 417:
            return "Expectation Failed";
        case 421:
            return "Misdirected Request";
        case 422:
            return "Unprocessable Content";
        case 426:
            return "Upgrade Required";
        case 429:
            return "Too Many Requests";
        case 431:
            return "Request Header Fields Too Large";
        case 500:
            return "Internal Server Error";
        case 501:
            return "Not Implemented";
        case 502:
            return "Bad Gateway";
        case 503:
            return "Service Unavailable";
        case 504:
            return "Gateway Timeout";
        case 505:
            return "HTTP Version Not Supported";
        default:
            return "Unknown";
    }
}

}  // namespace sg::http
