#include "detect/sip_message.hpp"

#include <array>

#include "common/text.hpp"

namespace sg::detect {
namespace {

constexpr std::array<std::string_view, 14> k_methods{"INVITE",   "ACK",   "BYE",     "CANCEL", "OPTIONS",
                                                     "REGISTER", "PRACK", "UPDATE",  "INFO",   "SUBSCRIBE",
                                                     "NOTIFY",   "REFER", "MESSAGE", "PUBLISH"};

std::string_view next_line(std::string_view& rest) noexcept {
    const auto end = rest.find('\n');
    std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
}

}  // namespace

bool looks_like_sip(std::string_view data) noexcept {
    if (data.substr(0, 8) == "SIP/2.0 ") return true;
    for (const auto method : k_methods) {
        if (data.size() > method.size() + 1 && data.substr(0, method.size()) == method &&
            data[method.size()] == ' ') {
            const auto uri = data.substr(method.size() + 1);
            return istarts_with(uri, "sip:") || istarts_with(uri, "sips:") || istarts_with(uri, "tel:");
        }
    }
    return false;
}

Parsed<SipMessage> parse_sip_message(std::string_view input, bool datagram) {
    using P = Parsed<SipMessage>;
    // Header block: up to the first empty line.
    std::size_t header_end = std::string_view::npos;
    std::size_t body_start = 0;
    if (const auto crlf = input.find("\r\n\r\n"); crlf != std::string_view::npos) {
        header_end = crlf;
        body_start = crlf + 4;
    }
    if (const auto lf = input.find("\n\n"); lf != std::string_view::npos && lf < header_end) {
        header_end = lf;
        body_start = lf + 2;
    }
    if (header_end == std::string_view::npos) {
        if (input.size() > k_max_sip_header_bytes || datagram) return P::fail("SIP header block too long");
        return P::more();
    }
    if (header_end > k_max_sip_header_bytes) return P::fail("SIP header block too long");

    SipMessage message;
    std::string_view rest = input.substr(0, header_end);
    std::string_view start = next_line(rest);
    if (start.substr(0, 8) == "SIP/2.0 ") {
        const auto code = parse_uint<unsigned>(start.substr(8, 3));
        if (!code || *code < 100 || *code > 699) return P::fail("bad SIP status code");
        message.status = static_cast<int>(*code);
    } else {
        const auto method = pop_token(start, ' ');
        if (method.empty() || start.size() < 8 || start.substr(start.size() - 8) != " SIP/2.0")
            return P::fail("not a SIP request line");
        message.is_request = true;
        message.method = std::string(method);
    }
    bool have_length = false;
    std::size_t length = 0;
    while (!rest.empty()) {
        std::string_view line = next_line(rest);
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) continue;  // folded or junk lines carry nothing we read
        const auto name = trim(line.substr(0, colon));
        const auto value = trim(line.substr(colon + 1));
        if (iequals(name, "Content-Type") || iequals(name, "c")) {
            message.content_type = std::string(value);
        } else if (iequals(name, "Content-Length") || iequals(name, "l")) {
            const auto n = parse_uint<std::size_t>(value);
            if (!n || *n > k_max_sip_body) return P::fail("bad SIP Content-Length");
            have_length = true;
            length = *n;
        }
    }
    if (!have_length) {
        if (!datagram) return P::fail("SIP over a stream without Content-Length");
        length = input.size() - body_start;
        if (length > k_max_sip_body) return P::fail("SIP body too long");
    }
    if (input.size() - body_start < length) {
        if (datagram) return P::fail("SIP datagram shorter than its Content-Length");
        return P::more();
    }
    message.body = std::string(input.substr(body_start, length));
    return P::ok(std::move(message), body_start + length);
}

}  // namespace sg::detect
