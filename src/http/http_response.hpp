#pragma once
// The client side of the admin listener's HTTP: a complete `Connection: close` response (everything read
// until the server closed) split into status, header fields and body, for `streamgate ctl`.
//   RFC 9112 section 4 (status line), 5 (fields), 6.3 (a body delimited by Content-Length, or by the close).
// Pure: no I/O, no exceptions.

#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "http/http_request.hpp"

namespace sg::http {

struct Response {
    int status = 0;
    std::vector<Header> headers;
    std::string body;

    const std::string* header(std::string_view name) const noexcept;
};

// Fails on a malformed status line or field section, a head over 16 KiB, or a body shorter than its
// Content-Length (the connection broke). Transfer-Encoding is not supported (the admin listener never
// sends it).
Result<Response> parse_response(std::string_view whole);

}  // namespace sg::http
