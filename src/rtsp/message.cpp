#include "rtsp/message.hpp"

#include <algorithm>
#include <iterator>
#include <optional>

#include "common/text.hpp"

namespace sg::rtsp {

// ---------------------------------------------------------------------------------------------------
// Headers

const std::string* Headers::get(std::string_view name) const noexcept {
    for (const auto& field : fields_) {
        if (iequals(field.name, name)) return &field.value;
    }
    return nullptr;
}

std::vector<std::string_view> Headers::get_all(std::string_view name) const {
    std::vector<std::string_view> out;
    for (const auto& field : fields_) {
        if (iequals(field.name, name)) out.emplace_back(field.value);
    }
    return out;
}

void Headers::set(std::string_view name, std::string_view value) {
    auto first = std::find_if(fields_.begin(), fields_.end(),
                              [&](const Header& field) { return iequals(field.name, name); });
    if (first == fields_.end()) {
        add(name, value);
        return;
    }
    first->value = std::string(value);
    fields_.erase(std::remove_if(std::next(first), fields_.end(),
                                 [&](const Header& field) { return iequals(field.name, name); }),
                  fields_.end());
}

void Headers::add(std::string_view name, std::string_view value) {
    fields_.push_back(Header{std::string(name), std::string(value)});
}

std::size_t Headers::remove(std::string_view name) {
    const auto before = fields_.size();
    fields_.erase(std::remove_if(fields_.begin(), fields_.end(),
                                 [&](const Header& field) { return iequals(field.name, name); }),
                  fields_.end());
    return before - fields_.size();
}

bool operator==(const InterleavedFrame& a, const InterleavedFrame& b) noexcept {
    return a.channel == b.channel &&
           std::equal(a.payload.begin(), a.payload.end(), b.payload.begin(), b.payload.end());
}

// ---------------------------------------------------------------------------------------------------
// Parser

namespace {

constexpr std::string_view k_content_length = "Content-Length";
constexpr std::size_t k_interleaved_header = 4;  // '$', channel, 16-bit length

using textproto::LineStatus;

// "RTSP/" 1*DIGIT "." 1*DIGIT; more than three digits per number is not a version anyone speaks.
std::optional<Version> parse_version(std::string_view s) noexcept {
    constexpr std::string_view prefix = "RTSP/";
    if (s.substr(0, prefix.size()) != prefix) return std::nullopt;
    s.remove_prefix(prefix.size());
    const auto dot = s.find('.');
    if (dot == std::string_view::npos) return std::nullopt;
    const auto major_text = s.substr(0, dot);
    const auto minor_text = s.substr(dot + 1);
    if (major_text.size() > 3 || minor_text.size() > 3) return std::nullopt;
    const auto major_value = parse_uint<unsigned>(major_text);
    const auto minor_value = parse_uint<unsigned>(minor_text);
    if (!major_value || !minor_value) return std::nullopt;
    return Version{static_cast<int>(*major_value), static_cast<int>(*minor_value)};
}

// Status-Line = RTSP-Version SP Status-Code SP Reason-Phrase. A missing reason is tolerated.
bool parse_status_line(std::string_view line, Response& out) {
    const auto version = parse_version(pop_token(line, ' '));
    if (!version) return false;
    const auto code_text = pop_token(line, ' ');
    if (code_text.size() != 3) return false;
    const auto code = parse_uint<unsigned>(code_text);
    if (!code || *code < 100) return false;
    out.version = *version;
    out.status = static_cast<int>(*code);
    out.reason = std::string(trim(line));
    return true;
}

// Request-Line = Method SP Request-URI SP RTSP-Version.
bool parse_request_line(std::string_view line, Request& out) {
    const auto method = pop_token(line, ' ');
    if (!is_token(method)) return false;
    const auto last_space = line.rfind(' ');
    if (last_space == std::string_view::npos) return false;
    const auto version = parse_version(line.substr(last_space + 1));
    if (!version) return false;
    const auto uri = trim(line.substr(0, last_space));
    if (uri.empty()) return false;
    for (const char c : uri) {
        if (c == ' ' || c == '\t') return false;
    }
    out.method = std::string(method);
    out.uri = std::string(uri);
    out.version = *version;
    return true;
}

// Every Content-Length must be strict decimal; repeated fields must agree (RFC 7230 section 3.3.2 logic,
// which closes the request-smuggling hole of conflicting lengths).
struct BodyLength {
    bool ok = true;
    std::string_view error;
    std::size_t length = 0;
};

BodyLength body_length(const std::vector<Header>& fields, const Limits& limits) {
    BodyLength out;
    std::optional<std::uint64_t> seen;
    for (const auto& field : fields) {
        if (!iequals(field.name, k_content_length)) continue;
        const auto value = parse_uint<std::uint64_t>(field.value);
        if (!value) return BodyLength{false, "invalid Content-Length", 0};
        if (seen && *seen != *value) return BodyLength{false, "conflicting Content-Length", 0};
        seen = value;
    }
    if (!seen) return out;
    if (*seen > limits.max_body) return BodyLength{false, "body too large", 0};
    out.length = static_cast<std::size_t>(*seen);
    return out;
}

Parsed<Item> parse_interleaved(Bytes input, std::size_t pos) {
    if (input.size() - pos < k_interleaved_header) return Parsed<Item>::more();
    const std::uint8_t channel = input[pos + 1];
    const std::size_t length = load_be16(input.data() + pos + 2);
    if (input.size() - pos - k_interleaved_header < length) return Parsed<Item>::more();
    InterleavedFrame frame{channel, input.subspan(pos + k_interleaved_header, length)};
    return Parsed<Item>::ok(Item{frame}, pos + k_interleaved_header + length);
}

Parsed<Item> parse_message(std::string_view in, std::size_t pos, const Limits& limits) {
    // Binary garbage is rejected at its first byte rather than after a whole start line was buffered.
    if (!is_token_char(in[pos])) return Parsed<Item>::fail("invalid start of message");
    // The start line's text may be max_start_line bytes, plus a CRLF.
    const auto start =
        textproto::next_line(in, pos, pos + limits.max_start_line + 2, textproto::k_rtsp.lone_cr);
    if (start.status == LineStatus::too_long) return Parsed<Item>::fail("start line too long");
    if (start.status == LineStatus::control_char)
        return Parsed<Item>::fail("control character in start line");
    if (start.status == LineStatus::need_more) return Parsed<Item>::more();
    if (start.text.size() > limits.max_start_line) return Parsed<Item>::fail("start line too long");

    const bool is_response = start.text.substr(0, 5) == "RTSP/";
    Request request;
    Response response;
    if (is_response ? !parse_status_line(start.text, response) : !parse_request_line(start.text, request)) {
        return Parsed<Item>::fail(is_response ? "invalid status line" : "invalid request line");
    }

    std::vector<Header> fields;
    const auto section = textproto::parse_fields(in, start.next, start.next + limits.max_header_bytes,
                                                 limits.max_headers, textproto::k_rtsp, fields);
    if (section.failed()) return Parsed<Item>::fail(textproto::describe(section.error));
    if (!section.done()) return Parsed<Item>::more();
    const BodyLength body = body_length(fields, limits);
    if (!body.ok) return Parsed<Item>::fail(body.error);
    if (in.size() - section.end < body.length) return Parsed<Item>::more();

    const std::size_t consumed = section.end + body.length;
    Headers headers(std::move(fields));
    std::string body_text(in.substr(section.end, body.length));
    if (is_response) {
        response.headers = std::move(headers);
        response.body = std::move(body_text);
        return Parsed<Item>::ok(Item{std::move(response)}, consumed);
    }
    request.headers = std::move(headers);
    request.body = std::move(body_text);
    return Parsed<Item>::ok(Item{std::move(request)}, consumed);
}

}  // namespace

Parsed<Item> parse_item(Bytes input, const Limits& limits) {
    const std::string_view in(reinterpret_cast<const char*>(input.data()), input.size());
    // Keep-alive empty lines between items are skipped (RFC 2326 section 4 allows them before a message).
    std::size_t pos = 0;
    while (pos < in.size() && (in[pos] == '\r' || in[pos] == '\n'))
        ++pos;
    if (pos > limits.max_blank_prefix) return Parsed<Item>::fail("too many empty lines");
    if (pos == in.size()) return Parsed<Item>::more();
    if (in[pos] == '$') return parse_interleaved(input, pos);
    return parse_message(in, pos, limits);
}

Parsed<Item> parse_item(std::string_view input, const Limits& limits) {
    return parse_item(Bytes(reinterpret_cast<const std::uint8_t*>(input.data()), input.size()), limits);
}

// ---------------------------------------------------------------------------------------------------
// Serializers

namespace {

// CR and LF would end the line early and let a field smuggle in another header, so they become spaces.
void append_field(std::string& out, std::string_view text) {
    for (const char c : text)
        out.push_back((c == '\r' || c == '\n') ? ' ' : c);
}

void append_version(std::string& out, const Version& version) {
    out += "RTSP/";
    out += std::to_string(version.major);
    out.push_back('.');
    out += std::to_string(version.minor);
}

void append_headers_and_body(std::string& out, const Headers& headers, std::string_view body) {
    bool wrote_length = false;
    for (const auto& field : headers) {
        const bool is_length = iequals(field.name, k_content_length);
        if (is_length && wrote_length) continue;
        append_field(out, field.name);
        out += ": ";
        if (is_length) {
            out += std::to_string(body.size());
            wrote_length = true;
        } else {
            append_field(out, field.value);
        }
        out += "\r\n";
    }
    if (!wrote_length && !body.empty()) {
        out += k_content_length;
        out += ": ";
        out += std::to_string(body.size());
        out += "\r\n";
    }
    out += "\r\n";
    out += body;
}

}  // namespace

std::string to_string(const Request& request) {
    std::string out;
    out.reserve(64 + request.uri.size() + request.body.size());
    append_field(out, request.method);
    out.push_back(' ');
    append_field(out, request.uri);
    out.push_back(' ');
    append_version(out, request.version);
    out += "\r\n";
    append_headers_and_body(out, request.headers, request.body);
    return out;
}

std::string to_string(const Response& response) {
    std::string out;
    out.reserve(64 + response.body.size());
    append_version(out, response.version);
    out.push_back(' ');
    out += std::to_string(response.status);
    out.push_back(' ');
    append_field(out, response.reason.empty() ? reason_phrase(response.status) : response.reason);
    out += "\r\n";
    append_headers_and_body(out, response.headers, response.body);
    return out;
}

bool append_interleaved(std::vector<std::uint8_t>& out, std::uint8_t channel, Bytes payload) {
    if (payload.size() > 0xFFFF) return false;
    ByteWriter writer(out);
    writer.put_u8('$');
    writer.put_u8(channel);
    writer.put_u16(static_cast<std::uint16_t>(payload.size()));
    writer.put_bytes(payload);
    return true;
}

std::string_view reason_phrase(int status) noexcept {
    switch (status) {
        case 100:
            return "Continue";
        case 200:
            return "OK";
        case 201:
            return "Created";
        case 250:
            return "Low on Storage Space";
        case 300:
            return "Multiple Choices";
        case 301:
            return "Moved Permanently";
        case 302:
            return "Moved Temporarily";
        case 303:
            return "See Other";
        case 304:
            return "Not Modified";
        case 305:
            return "Use Proxy";
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
            return "Request Time-out";
        case 410:
            return "Gone";
        case 411:
            return "Length Required";
        case 412:
            return "Precondition Failed";
        case 413:
            return "Request Entity Too Large";
        case 414:
            return "Request-URI Too Large";
        case 415:
            return "Unsupported Media Type";
        case 451:
            return "Parameter Not Understood";
        case 452:
            return "Conference Not Found";
        case 453:
            return "Not Enough Bandwidth";
        case 454:
            return "Session Not Found";
        case 455:
            return "Method Not Valid in This State";
        case 456:
            return "Header Field Not Valid for Resource";
        case 457:
            return "Invalid Range";
        case 458:
            return "Parameter Is Read-Only";
        case 459:
            return "Aggregate operation not allowed";
        case 460:
            return "Only aggregate operation allowed";
        case 461:
            return "Unsupported transport";
        case 462:
            return "Destination unreachable";
        // RFC 7826 section 17 additions.
        case 463:
            return "Destination Prohibited";
        case 464:
            return "Data Transport Not Ready Yet";
        case 465:
            return "Notification Reason Unknown";
        case 466:
            return "Key Management Error";
        case 470:
            return "Connection Authorization Required";
        case 471:
            return "Connection Credentials Not Accepted";
        case 472:
            return "Failure to Establish Secure Connection";
        case 500:
            return "Internal Server Error";
        case 501:
            return "Not Implemented";
        case 502:
            return "Bad Gateway";
        case 503:
            return "Service Unavailable";
        case 504:
            return "Gateway Time-out";
        case 505:
            return "RTSP Version not supported";
        case 551:
            return "Option not supported";
        case 553:
            return "Proxy Unavailable";
        default:
            return "";
    }
}

}  // namespace sg::rtsp
