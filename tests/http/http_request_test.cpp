#include "http/http_request.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace sg::http {
namespace {

using namespace std::string_literals;

// The example of RFC 9112 section 3.2.1 / RFC 9110 section 7.2 and what Prometheus 2.x sends.
constexpr std::string_view k_prometheus_scrape =
    "GET /metrics HTTP/1.1\r\n"
    "Host: 127.0.0.1:9100\r\n"
    "User-Agent: Prometheus/2.42.0\r\n"
    "Accept: application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\n"
    "Accept-Encoding: gzip\r\n"
    "X-Prometheus-Scrape-Timeout-Seconds: 10\r\n"
    "\r\n";

TEST(HttpRequest, ParsesAPrometheusScrape) {
    const auto parsed = parse_request(k_prometheus_scrape);
    ASSERT_TRUE(parsed.done()) << parsed.error;
    EXPECT_EQ(parsed.consumed, k_prometheus_scrape.size());
    EXPECT_EQ(parsed.value.method, "GET");
    EXPECT_EQ(parsed.value.target, "/metrics");
    EXPECT_EQ(parsed.value.version, (Version{1, 1}));
    ASSERT_EQ(parsed.value.headers.size(), 5u);
    EXPECT_EQ(parsed.value.headers[0], (Header{"Host", "127.0.0.1:9100"}));
    EXPECT_EQ(parsed.value.headers[4], (Header{"X-Prometheus-Scrape-Timeout-Seconds", "10"}));
    ASSERT_NE(parsed.value.header("user-agent"), nullptr);
    EXPECT_EQ(*parsed.value.header("USER-AGENT"), "Prometheus/2.42.0");
    EXPECT_EQ(parsed.value.header("Cookie"), nullptr);
}

struct ValidCase {
    std::string name;
    std::string input;
    std::string method;
    std::string target;
    Version version;
    std::vector<Header> headers;
    std::size_t consumed;  // npos: the whole input
};

class ValidRequests : public ::testing::TestWithParam<ValidCase> {};

TEST_P(ValidRequests, Parse) {
    const auto& c = GetParam();
    const auto parsed = parse_request(c.input);
    ASSERT_TRUE(parsed.done()) << parsed.error;
    EXPECT_EQ(parsed.consumed, c.consumed == std::string::npos ? c.input.size() : c.consumed);
    EXPECT_EQ(parsed.value.method, c.method);
    EXPECT_EQ(parsed.value.target, c.target);
    EXPECT_EQ(parsed.value.version, c.version);
    EXPECT_EQ(parsed.value.headers, c.headers);
}

// Every strict prefix of a valid head is need_more with nothing consumed.
TEST_P(ValidRequests, EveryTruncationNeedsMore) {
    const auto& c = GetParam();
    const auto full = parse_request(c.input);
    ASSERT_TRUE(full.done());
    for (std::size_t cut = 0; cut < full.consumed; ++cut) {
        const auto parsed = parse_request(std::string_view(c.input).substr(0, cut));
        EXPECT_TRUE(parsed.need_more()) << "cut at " << cut << ": " << parsed.error;
        EXPECT_EQ(parsed.consumed, 0u);
    }
}

TEST_P(ValidRequests, RoundTripsThroughToString) {
    const auto parsed = parse_request(GetParam().input);
    ASSERT_TRUE(parsed.done());
    const std::string wire = to_string(parsed.value);
    const auto again = parse_request(wire);
    ASSERT_TRUE(again.done()) << again.error;
    EXPECT_EQ(again.consumed, wire.size());
    EXPECT_EQ(again.value, parsed.value);
}

const std::size_t whole = std::string::npos;

INSTANTIATE_TEST_SUITE_P(
    Table, ValidRequests,
    ::testing::Values(
        ValidCase{
            "minimal_1_1", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET", "/", {1, 1}, {{"Host", "a"}}, whole},
        ValidCase{
            "http_1_0_without_host", "GET /metrics HTTP/1.0\r\n\r\n", "GET", "/metrics", {1, 0}, {}, whole},
        ValidCase{"head",
                  "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
                  "HEAD",
                  "/metrics",
                  {1, 1},
                  {{"Host", "x"}},
                  whole},
        // RFC 9112 section 2.2: bare LF line endings may be accepted.
        ValidCase{"bare_lf", "GET /a HTTP/1.1\nHost: h\n\n", "GET", "/a", {1, 1}, {{"Host", "h"}}, whole},
        // RFC 9112 section 2.2: empty lines before the request line are ignored.
        ValidCase{"leading_empty_lines",
                  "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
                  "GET",
                  "/",
                  {1, 1},
                  {{"Host", "a"}},
                  whole},
        // Pipelined bytes after the head stay with the caller.
        ValidCase{"pipelined",
                  "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /x HTTP/1.1\r\n",
                  "GET",
                  "/",
                  {1, 1},
                  {{"Host", "a"}},
                  27},
        // RFC 9110 section 5.5: OWS around the value is not part of it; inner whitespace is.
        ValidCase{"ows_trimmed",
                  "GET / HTTP/1.1\r\nHost:a\r\nX-A: \t v  1 \t\r\nX-Empty:\r\n\r\n",
                  "GET",
                  "/",
                  {1, 1},
                  {{"Host", "a"}, {"X-A", "v  1"}, {"X-Empty", ""}},
                  whole},
        // RFC 9112 section 3.2.2 absolute-form, 3.2.4 asterisk-form; methods are any token.
        ValidCase{"absolute_form",
                  "GET http://h:9/metrics?x=1 HTTP/1.1\r\nHost: h:9\r\n\r\n",
                  "GET",
                  "http://h:9/metrics?x=1",
                  {1, 1},
                  {{"Host", "h:9"}},
                  whole},
        ValidCase{"asterisk_options",
                  "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
                  "OPTIONS",
                  "*",
                  {1, 1},
                  {{"Host", "h"}},
                  whole},
        ValidCase{"extension_method",
                  "M-SEARCH~! /x HTTP/1.1\r\nHost: h\r\n\r\n",
                  "M-SEARCH~!",
                  "/x",
                  {1, 1},
                  {{"Host", "h"}},
                  whole},
        // A higher minor version is handled as 1.1 (RFC 9110 section 2.5).
        ValidCase{
            "http_1_9", "GET / HTTP/1.9\r\nHost: a\r\n\r\n", "GET", "/", {1, 9}, {{"Host", "a"}}, whole},
        ValidCase{"content_length_zero",
                  "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
                  "GET",
                  "/",
                  {1, 1},
                  {{"Host", "a"}, {"Content-Length", "0"}},
                  whole},
        // obs-text is allowed in field values (RFC 9110 section 5.5).
        ValidCase{"obs_text_value",
                  "GET / HTTP/1.1\r\nHost: a\r\nX-U: caf\xc3\xa9\r\n\r\n",
                  "GET",
                  "/",
                  {1, 1},
                  {{"Host", "a"}, {"X-U", "caf\xc3\xa9"}},
                  whole}),
    [](const ::testing::TestParamInfo<ValidCase>& param_info) { return param_info.param.name; });

struct InvalidCase {
    std::string name;
    std::string input;
    int status;
};

class InvalidRequests : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(InvalidRequests, FailWithStatus) {
    const auto& c = GetParam();
    const auto parsed = parse_request(c.input);
    ASSERT_TRUE(parsed.failed()) << "status " << static_cast<int>(parsed.status);
    EXPECT_FALSE(parsed.error.empty());
    EXPECT_EQ(parsed.error_status, c.status) << parsed.error;
    EXPECT_EQ(parsed.consumed, 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Table, InvalidRequests,
    ::testing::Values(
        InvalidCase{"no_version", "GET /\r\n\r\n", 400},
        InvalidCase{"double_space", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        InvalidCase{"trailing_space", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400},
        InvalidCase{"leading_space", " GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        InvalidCase{"lowercase_version", "GET / http/1.1\r\nHost: a\r\n\r\n", 400},
        InvalidCase{"long_version", "GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400},
        InvalidCase{"http2", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505},
        InvalidCase{"http09", "GET / HTTP/0.9\r\n\r\n", 505},
        InvalidCase{"bad_method", "GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        InvalidCase{"target_with_obs_text", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        InvalidCase{"missing_host_1_1", "GET / HTTP/1.1\r\n\r\n", 400},
        InvalidCase{"two_hosts", "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", 400},
        InvalidCase{"space_before_colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400},
        InvalidCase{"no_colon", "GET / HTTP/1.1\r\nHost a\r\n\r\n", 400},
        InvalidCase{"empty_name", "GET / HTTP/1.1\r\n: a\r\nHost: a\r\n\r\n", 400},
        InvalidCase{"obs_fold", "GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n", 400},
        InvalidCase{"bare_cr", "GET / HTTP/1.1\rHost: a\r\n\r\n", 400},
        InvalidCase{"nul_in_value", "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n"s, 400},
        InvalidCase{"body_announced", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", 413},
        InvalidCase{"chunked_body", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 413},
        InvalidCase{"gzip_not_chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 400},
        InvalidCase{"unknown_coding", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: zstd2\r\n\r\n", 501},
        InvalidCase{"te_and_cl",
                    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n",
                    400},
        InvalidCase{"te_in_1_0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        InvalidCase{"bad_content_length", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400},
        InvalidCase{"conflicting_content_length",
                    "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 1\r\n\r\n", 400},
        InvalidCase{"content_length_overflow",
                    "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400}),
    [](const ::testing::TestParamInfo<InvalidCase>& param_info) { return param_info.param.name; });

// Garbage is rejected at its first bytes, long before the head limit.
TEST(HttpRequest, GarbageIsRejectedEarly) {
    const std::vector<std::string> inputs = {
        "\x16\x03\x01\x02\x00"s,  // a TLS ClientHello
        "\x05\x01\x00"s,          // a SOCKS5 greeting
        "\0"s,
        "(",
        " ",
        "GET\x7f",
        "GET / HTTP/1.1\r\nHost: a\x01",
        "GET / HTTP/1.1\rX",
    };
    for (const auto& input : inputs) {
        const auto parsed = parse_request(input);
        EXPECT_TRUE(parsed.failed()) << testing::PrintToString(input);
        EXPECT_EQ(parsed.error_status, 400);
    }
}

TEST(HttpRequest, EmptyAndBlankInputNeedMore) {
    for (const std::string_view input : {"", "\r", "\r\n", "\n\n\r\n", "\r\n\r"}) {
        EXPECT_TRUE(parse_request(input).need_more()) << testing::PrintToString(std::string(input));
    }
}

std::string head_of_size(std::size_t size) {
    // "GET / HTTP/1.1\r\nHost: a\r\nX: <pad>\r\n\r\n"
    const std::string prefix = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
    const std::string suffix = "\r\n\r\n";
    return prefix + std::string(size - prefix.size() - suffix.size(), 'p') + suffix;
}

TEST(HttpRequest, HeadLimitIsExact) {
    const Limits limits;
    const std::string at_limit = head_of_size(limits.max_head);
    const auto ok = parse_request(at_limit);
    ASSERT_TRUE(ok.done()) << ok.error;
    EXPECT_EQ(ok.consumed, limits.max_head);

    const auto over = parse_request(head_of_size(limits.max_head + 1));
    ASSERT_TRUE(over.failed());
    EXPECT_EQ(over.error_status, 431);

    // An unfinished head fails as soon as it cannot end within the limit, so a caller never buffers more:
    // a field line still needs its LF and the empty line's LF.
    const std::string endless = "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(2 * limits.max_head, 'p');
    const auto just_below = parse_request(std::string_view(endless).substr(0, limits.max_head - 2));
    EXPECT_TRUE(just_below.need_more());
    const auto at = parse_request(std::string_view(endless).substr(0, limits.max_head - 1));
    ASSERT_TRUE(at.failed());
    EXPECT_EQ(at.error_status, 431);

    // Empty lines before the request line count too.
    const auto blank = parse_request(std::string(limits.max_head, '\n'));
    ASSERT_TRUE(blank.failed());
    EXPECT_EQ(blank.error_status, 431);
}

TEST(HttpRequest, HeaderCountLimit) {
    const Limits limits;
    auto build = [](std::size_t fields) {
        std::string s = "GET / HTTP/1.1\r\nHost: a\r\n";
        for (std::size_t i = 1; i < fields; ++i)
            s += "X-" + std::to_string(i) + ": v\r\n";
        return s + "\r\n";
    };
    const auto at = parse_request(build(limits.max_headers));
    ASSERT_TRUE(at.done()) << at.error;
    EXPECT_EQ(at.value.headers.size(), limits.max_headers);
    const auto over = parse_request(build(limits.max_headers + 1));
    ASSERT_TRUE(over.failed());
    EXPECT_EQ(over.error_status, 431);

    Limits small;
    small.max_headers = 2;
    small.max_head = 64;
    EXPECT_TRUE(parse_request("GET / HTTP/1.1\r\nHost: a\r\nB: c\r\n\r\n", small).done());
    EXPECT_EQ(parse_request("GET / HTTP/1.1\r\nHost: a\r\nB: c\r\nD: e\r\n\r\n", small).error_status, 431);
    EXPECT_EQ(parse_request(head_of_size(65), small).error_status, 431);
}

TEST(HttpRequest, ToStringNeutralisesLineBreaks) {
    Request request;
    request.method = "GET";
    request.target = "/";
    request.headers = {{"Host", "a\r\nX-Injected: 1"}, {"Y", std::string("n\0l", 3)}};
    const std::string wire = to_string(request);
    EXPECT_EQ(wire, "GET / HTTP/1.1\r\nHost: a  X-Injected: 1\r\nY: n l\r\n\r\n");
    const auto parsed = parse_request(wire);
    ASSERT_TRUE(parsed.done());
    EXPECT_EQ(parsed.value.headers.size(), 2u);
}

TEST(HttpRequest, TargetPath) {
    const std::vector<std::pair<std::string_view, std::string_view>> cases = {
        {"/metrics", "/metrics"},
        {"/metrics?name[]=up", "/metrics"},
        {"/a#frag", "/a"},
        {"/", "/"},
        {"http://h:9/metrics?x", "/metrics"},
        {"http://h", "/"},
        {"http://h?q", "/"},
        {"HTTPS://user@h/a/b", "/a/b"},
        {"*", ""},
        {"h:443", ""},
        {"://x/y", ""},
        {"", ""},
    };
    for (const auto& [target, path] : cases)
        EXPECT_EQ(target_path(target), path) << target;
}

TEST(HttpResponse, ExactBytes) {
    EXPECT_EQ(response(200, "text/plain; version=0.0.4; charset=utf-8", "up 1\n"),
              "HTTP/1.1 200 OK\r\n"
              "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
              "Content-Length: 5\r\n"
              "Connection: close\r\n"
              "\r\n"
              "up 1\n");
    const Header allow[] = {{"Allow", "GET, HEAD"}};
    EXPECT_EQ(response(405, "", "", allow),
              "HTTP/1.1 405 Method Not Allowed\r\n"
              "Content-Length: 0\r\n"
              "Allow: GET, HEAD\r\n"
              "Connection: close\r\n"
              "\r\n");
    EXPECT_EQ(
        response_head(200, "text/plain", 1234),
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1234\r\nConnection: close\r\n\r\n");
}

TEST(HttpResponse, OddStatusesAndInjection) {
    EXPECT_EQ(response(204, "", "ignored"), "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(response(42, "", "x").substr(0, 36), "HTTP/1.1 500 Internal Server Error\r\n");
    EXPECT_EQ(response(100, "", "x").substr(0, 36), "HTTP/1.1 500 Internal Server Error\r\n");
    EXPECT_EQ(response(600, "", "x").substr(0, 36), "HTTP/1.1 500 Internal Server Error\r\n");
    EXPECT_EQ(response(299, "", "").substr(0, 22), "HTTP/1.1 299 Unknown\r\n");
    const Header evil[] = {{"X\r\nA", "b\r\nSet-Cookie: c"}};
    EXPECT_EQ(response(200, "text/plain\r\nX: y", "", evil),
              "HTTP/1.1 200 OK\r\nContent-Type: text/plain  X: y\r\nContent-Length: 0\r\n"
              "X  A: b  Set-Cookie: c\r\nConnection: close\r\n\r\n");
}

TEST(HttpResponse, ReasonPhrases) {
    EXPECT_EQ(reason_phrase(413), "Content Too Large");
    EXPECT_EQ(reason_phrase(431), "Request Header Fields Too Large");
    EXPECT_EQ(reason_phrase(505), "HTTP Version Not Supported");
    EXPECT_EQ(reason_phrase(999), "Unknown");
}

}  // namespace
}  // namespace sg::http
