#include "http/rtsp_tunnel.hpp"

#include <algorithm>

#include "common/text.hpp"
#include "http/http_request.hpp"

namespace sg::http {
namespace {

constexpr std::string_view k_tunnel_type = "application/x-rtsp-tunnelled";

bool is_cookie_char(char c) noexcept {
    return c > ' ' && c < 0x7f;
}

// The media type of a Content-Type value, without parameters.
std::string_view media_type(std::string_view value) noexcept {
    return trim(value.substr(0, value.find(';')));
}

}  // namespace

FirstBytes classify_first_bytes(std::string_view received, std::size_t max_line) noexcept {
    // Only the first max_line bytes count, so that the answer for a prefix never differs from the answer
    // for the whole.
    const bool capped = received.size() >= max_line;
    received = received.substr(0, max_line);
    const auto undecided = capped ? FirstBytes::rtsp : FirstBytes::need_more;
    // Empty lines before the request line are skipped, as both RTSP and HTTP allow.
    const auto start = received.find_first_not_of("\r\n");
    if (start == std::string_view::npos) return undecided;
    if (received[start] == '$') return FirstBytes::rtsp;  // an interleaved frame
    const auto end = received.find_first_of("\r\n", start);
    if (end == std::string_view::npos) return undecided;
    const auto line = received.substr(start, end - start);
    const auto space = line.rfind(' ');
    if (space == std::string_view::npos) return FirstBytes::rtsp;
    const auto version = line.substr(space + 1);
    return version.size() == 8 && version.starts_with("HTTP/1.") ? FirstBytes::http : FirstBytes::rtsp;
}

ParsedTunnelHead parse_tunnel_head(std::string_view received) {
    ParsedTunnelHead out;
    const auto fail = [&out](std::string_view why, int status) {
        out.status = ParseStatus::error;
        out.error = why;
        out.error_status = status;
        return out;
    };
    Limits limits;
    limits.content_length_body = true;
    auto request = parse_request(received, limits);
    if (request.need_more()) return out;
    if (request.failed()) return fail(request.error, request.error_status);
    TunnelHead head;
    if (request.value.method == "GET") {
        head.role = TunnelRole::get;
    } else if (request.value.method == "POST") {
        head.role = TunnelRole::post;
        if (const auto* type = request.value.header("Content-Type");
            type != nullptr && !iequals(media_type(*type), k_tunnel_type))
            return fail("POST body is not application/x-rtsp-tunnelled", 415);
    } else {
        return fail("not a tunnel GET or POST", 405);
    }
    const auto* cookie = request.value.header("x-sessioncookie");
    if (cookie == nullptr) return fail("no x-sessioncookie", 400);
    if (cookie->empty() || cookie->size() > k_max_cookie ||
        !std::all_of(cookie->begin(), cookie->end(), is_cookie_char))
        return fail("invalid x-sessioncookie", 400);
    head.cookie = *cookie;
    head.path = std::string(target_path(request.value.target));
    out.status = ParseStatus::done;
    out.consumed = request.consumed;
    out.value = std::move(head);
    return out;
}

std::string tunnel_get_reply() {
    return "HTTP/1.0 200 OK\r\n"
           "Server: streamgate\r\n"
           "Connection: close\r\n"
           "Cache-Control: no-store\r\n"
           "Pragma: no-cache\r\n"
           "Content-Type: application/x-rtsp-tunnelled\r\n"
           "\r\n";
}

std::string tunnel_error_reply(int status) {
    const std::string body = std::to_string(status) + " " + std::string(reason_phrase(status)) + "\n";
    return response(status, "text/plain; charset=utf-8", body);
}

}  // namespace sg::http
