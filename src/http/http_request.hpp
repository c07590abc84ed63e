#pragma once
// A minimal HTTP/1.x server-side codec for the admin listener: an incremental parser for a request head
// (request line and header fields up to the empty line) and a builder for complete `Connection: close`
// responses.
//   RFC 9112 section 2.2 (empty lines before the request line, bare CR), 3 (request line), 3.2 (Host),
//   5 (field syntax; obs-fold is rejected as 5.2 allows), 6.1-6.3 (Content-Length / Transfer-Encoding);
//   RFC 9110 section 5.5 (field values), 15 (status codes), RFC 6585 section 5 (431).
// Request bodies are not supported: a request announcing one is an error with status 413 (or 400 when its
// framing is invalid or ambiguous), unless Limits::content_length_body lets the caller read it. Pure code: no
// I/O, no exceptions; never consumes past the empty line.

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/byte_io.hpp"
#include "common/parse.hpp"
#include "common/units.hpp"
#include "textproto/head.hpp"

namespace sg::http {

using Header = textproto::Field;

struct Version {
    int major = 1;
    int minor = 1;

    bool operator==(const Version&) const = default;
};

struct Request {
    std::string method;  // a token, case-sensitive ("GET", "HEAD", ...)
    std::string target;  // request-target as sent: origin-form "/path?query", absolute-form, "*", ...
    Version version;
    std::vector<Header> headers;  // wire order

    // First value of the field with this (case-insensitive) name, or nullptr.
    const std::string* header(std::string_view name) const noexcept;

    bool operator==(const Request&) const = default;
};

struct Limits {
    std::size_t max_head = 8 * k_kib;  // everything up to and including the empty line
    std::size_t max_headers = 64;
    // A Content-Length body is accepted and left unread for the caller (the POST of an RTSP-over-HTTP
    // tunnel); Transfer-Encoding is still refused.
    bool content_length_body = false;
};

// Parsed<Request> plus the status a server should answer a failed parse with: 400 (malformed), 413 (a body
// was announced), 431 (limits), 501 (unknown transfer coding) or 505 (not HTTP/1.x).
struct [[nodiscard]] ParsedRequest : Parsed<Request> {
    int error_status = 400;  // meaningful only when failed()
};

// Parses the request head at the start of `input` (the bytes received so far). need_more means a valid
// prefix shorter than limits.max_head; done consumes the head and any empty lines before it.
ParsedRequest parse_request(Bytes input, const Limits& limits = {});
ParsedRequest parse_request(std::string_view input, const Limits& limits = {});

// Wire form of a request head (CRLF endings, "Name: value"). CR, LF and NUL become spaces so that a field
// cannot inject a line; for anything parse_request returned, parse_request(to_string(r)) gives r back.
std::string to_string(const Request& request);

// "/metrics" for "/metrics?x=1", "/a" for "http://host:9/a#f", "/" for "http://host"; "" for "*" and
// authority-form targets, which name no path.
std::string_view target_path(std::string_view target) noexcept;

// A complete HTTP/1.1 response: status line, Content-Type (omitted when empty), Content-Length, the extra
// fields, `Connection: close`, then the body. A status outside 100..599 is written as 500. CR, LF and NUL
// in content_type and the extra fields become spaces.
std::string response(int status, std::string_view content_type, std::string_view body,
                     std::span<const Header> extra_headers = {});

// The same head without the body, for HEAD requests: Content-Length is that of the body a GET would get
// (RFC 9110 section 9.3.2).
std::string response_head(int status, std::string_view content_type, std::size_t content_length,
                          std::span<const Header> extra_headers = {});

// RFC 9110 section 15 reason phrase, or "Unknown" for an unregistered code.
std::string_view reason_phrase(int status) noexcept;

}  // namespace sg::http
