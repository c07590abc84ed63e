#pragma once
// RTSP message framing for one connection's byte stream: requests, responses and interleaved binary
// frames mixed on the same stream, parsed incrementally, plus the matching serializers.
//   RFC 2326 section 4 (message format, Content-Length), 6 (request), 7 (response, 7.1.1 status codes),
//   10.12 (interleaved binary data), 15.1 (receivers accept CR, LF or CRLF line endings);
//   RFC 7826 section 20.1/20.2 (RTSP/2.0 message syntax, additional status codes).
// Pure code: no I/O, no exceptions. The parser is stateless: it is handed the bytes received so far and
// never consumes past the item it returns, so pipelined data stays with the caller.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/byte_io.hpp"
#include "common/parse.hpp"
#include "common/units.hpp"
#include "textproto/head.hpp"

namespace sg::rtsp {

using Header = textproto::Field;

// Header fields in wire order. Lookups compare names case-insensitively; names keep their spelling.
class Headers {
public:
    Headers() = default;
    explicit Headers(std::vector<Header> fields) : fields_(std::move(fields)) {}

    // First value with this name, or nullptr.
    const std::string* get(std::string_view name) const noexcept;
    std::vector<std::string_view> get_all(std::string_view name) const;
    bool contains(std::string_view name) const noexcept { return get(name) != nullptr; }

    // Replaces the first field with this name and drops any later duplicates; appends when absent.
    void set(std::string_view name, std::string_view value);
    // Appends a field even when the name is already present.
    void add(std::string_view name, std::string_view value);
    // Removes every field with this name; returns how many were removed.
    std::size_t remove(std::string_view name);

    std::size_t size() const noexcept { return fields_.size(); }
    bool empty() const noexcept { return fields_.empty(); }
    const std::vector<Header>& fields() const noexcept { return fields_; }
    std::vector<Header>::const_iterator begin() const noexcept { return fields_.begin(); }
    std::vector<Header>::const_iterator end() const noexcept { return fields_.end(); }

    // Exact comparison: same fields, same order, same spelling.
    bool operator==(const Headers&) const = default;

private:
    std::vector<Header> fields_;
};

struct Version {
    int major = 1;
    int minor = 0;

    bool operator==(const Version&) const = default;
};

struct Request {
    std::string method;  // a token, case-sensitive ("OPTIONS", "SETUP", ...)
    std::string uri;     // Request-URI as sent: absolute rtsp URL or "*"
    Version version;
    Headers headers;
    std::string body;  // may hold binary data

    bool operator==(const Request&) const = default;
};

struct Response {
    Version version;
    int status = 200;  // 100..999
    std::string reason;
    Headers headers;
    std::string body;

    bool operator==(const Response&) const = default;
};

// "$" channel length payload (RFC 2326 section 10.12). The payload is a view into the buffer handed to
// parse_item(): it is valid only until the caller discards those bytes.
struct InterleavedFrame {
    std::uint8_t channel = 0;
    Bytes payload;
};
bool operator==(const InterleavedFrame& a, const InterleavedFrame& b) noexcept;  // compares bytes

using Item = std::variant<Request, Response, InterleavedFrame>;

// Bounds on what the parser will buffer before giving up; each is checked as soon as it is exceeded,
// so a peer cannot make the caller accumulate an endless message.
struct Limits {
    std::size_t max_blank_prefix = 8 * k_kib;   // keep-alive CR/LF bytes before an item
    std::size_t max_start_line = 8 * k_kib;     // request or status line, without its line ending
    std::size_t max_header_bytes = 64 * k_kib;  // all header lines plus the empty line, with line endings
    std::size_t max_headers = 128;              // header fields (a folded field counts once)
    std::size_t max_body = 4 * k_mib;           // Content-Length
};

// Parses the next item at the start of `input` (the unconsumed bytes of the stream). Returns need_more
// (nothing consumed) while the item is incomplete, done with the bytes it used (including skipped empty
// lines before it), or error: the stream cannot be resynchronised and the connection should be closed.
// Note a CR as the last byte yields need_more because an LF may follow it.
Parsed<Item> parse_item(Bytes input, const Limits& limits = {});
Parsed<Item> parse_item(std::string_view input, const Limits& limits = {});

// Wire form with CRLF line endings. Content-Length is derived from the body: an existing field gets the
// body size, duplicates are dropped, and one is appended when the body is non-empty. CR and LF inside
// fields are written as spaces, so a value can never inject a header line. An empty reason is replaced by
// reason_phrase(status).
std::string to_string(const Request& request);
std::string to_string(const Response& response);

// Appends "$" channel length payload; returns false (and appends nothing) if payload exceeds 65535 bytes.
bool append_interleaved(std::vector<std::uint8_t>& out, std::uint8_t channel, Bytes payload);

// Reason phrase of RFC 2326 section 7.1.1 and RFC 7826 section 17, or "" for an unregistered code.
std::string_view reason_phrase(int status) noexcept;

}  // namespace sg::rtsp
