#include "rtsp/message.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace sg::rtsp {
namespace {

// Items whose interleaved payloads are copied out, so results of different parses can be compared.
using OwnedFrame = std::pair<std::uint8_t, std::string>;
using OwnedItem = std::variant<Request, Response, OwnedFrame>;

OwnedItem own(const Item& item) {
    if (const auto* frame = std::get_if<InterleavedFrame>(&item)) {
        return OwnedFrame{frame->channel, std::string(frame->payload.begin(), frame->payload.end())};
    }
    if (const auto* request = std::get_if<Request>(&item)) return *request;
    return std::get<Response>(item);
}

struct StreamResult {
    std::vector<OwnedItem> items;
    bool failed = false;
    std::string leftover;  // bytes still waiting for more input
};

// Parses items off the front of `buffer` until need_more or error, as a connection handler would.
void drain(std::string& buffer, StreamResult& result, const Limits& limits) {
    while (!result.failed) {
        const auto parsed = parse_item(std::string_view(buffer), limits);
        if (parsed.need_more()) {
            EXPECT_EQ(parsed.consumed, 0u);
            break;
        }
        if (parsed.failed()) {
            EXPECT_FALSE(parsed.error.empty());
            result.failed = true;
            break;
        }
        EXPECT_GT(parsed.consumed, 0u);
        EXPECT_LE(parsed.consumed, buffer.size());
        result.items.push_back(own(parsed.value));
        buffer.erase(0, parsed.consumed);
    }
}

// Feeds `stream` in pieces that end at the given offsets (the last piece runs to the end).
StreamResult feed(std::string_view stream, const std::vector<std::size_t>& cuts, const Limits& limits = {}) {
    StreamResult result;
    std::string buffer;
    std::size_t from = 0;
    auto push_until = [&](std::size_t to) {
        buffer.append(stream.substr(from, to - from));
        from = to;
        drain(buffer, result, limits);
    };
    for (const auto cut : cuts)
        push_until(cut);
    push_until(stream.size());
    result.leftover = buffer;
    return result;
}

StreamResult feed_whole(std::string_view stream, const Limits& limits = {}) {
    return feed(stream, {}, limits);
}

StreamResult feed_bytewise(std::string_view stream, const Limits& limits = {}) {
    std::vector<std::size_t> cuts;
    for (std::size_t i = 1; i < stream.size(); ++i)
        cuts.push_back(i);
    return feed(stream, cuts, limits);
}

Request parse_request(std::string_view text) {
    const auto parsed = parse_item(text);
    EXPECT_TRUE(parsed.done()) << parsed.error;
    EXPECT_EQ(parsed.consumed, text.size());
    const auto* request = std::get_if<Request>(&parsed.value);
    EXPECT_NE(request, nullptr);
    return request ? *request : Request{};
}

Response parse_response(std::string_view text) {
    const auto parsed = parse_item(text);
    EXPECT_TRUE(parsed.done()) << parsed.error;
    EXPECT_EQ(parsed.consumed, text.size());
    const auto* response = std::get_if<Response>(&parsed.value);
    EXPECT_NE(response, nullptr);
    return response ? *response : Response{};
}

Headers make_headers(std::vector<Header> fields) {
    return Headers(std::move(fields));
}

std::string frame_bytes(std::uint8_t channel, std::string_view payload) {
    std::vector<std::uint8_t> out;
    EXPECT_TRUE(append_interleaved(
        out, channel, Bytes(reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size())));
    return std::string(out.begin(), out.end());
}

// --- RFC 2326 examples ------------------------------------------------------------------------------

// RFC 2326 section 10.1.
constexpr std::string_view k_options_request =
    "OPTIONS * RTSP/1.0\r\n"
    "CSeq: 1\r\n"
    "Require: implicit-play\r\n"
    "Proxy-Require: gzipped-messages\r\n"
    "\r\n";

constexpr std::string_view k_options_response =
    "RTSP/1.0 200 OK\r\n"
    "CSeq: 1\r\n"
    "Public: DESCRIBE, SETUP, TEARDOWN, PLAY, PAUSE\r\n"
    "\r\n";

// RFC 2326 section 14.1 (Content-Length corrected: the RFC's figure does not match its body).
constexpr std::string_view k_sdp =
    "v=0\r\n"
    "o=- 2890844526 2890842807 IN IP4 192.16.24.202\r\n"
    "s=RTSP Session\r\n"
    "m=audio 0 RTP/AVP 0\r\n"
    "a=control:rtsp://audio.example.com/twister/audio.en\r\n";

std::string describe_response() {
    return "RTSP/1.0 200 OK\r\n"
           "CSeq: 1\r\n"
           "Content-Type: application/sdp\r\n"
           "Content-Length: " +
           std::to_string(k_sdp.size()) + "\r\n\r\n" + std::string(k_sdp);
}

// RFC 2326 section 14.1: the Transport value is folded onto a second line.
constexpr std::string_view k_setup_response =
    "RTSP/1.0 200 OK\r\n"
    "CSeq: 1\r\n"
    "Session: 12345678\r\n"
    "Transport: RTP/AVP/UDP;unicast;client_port=3056-3057;\r\n"
    "           server_port=5000-5001\r\n"
    "\r\n";

// RFC 2326 section 10.12.
constexpr std::string_view k_play_response =
    "RTSP/1.0 200 OK\r\n"
    "CSeq: 3\r\n"
    "Session: 12345678\r\n"
    "Date: 05 Jun 1997 18:59:15 GMT\r\n"
    "RTP-Info: url=rtsp://foo.com/bar.file;\r\n"
    "  seq=232433;rtptime=972948234\r\n"
    "\r\n";

TEST(RtspMessage, ParsesRfc2326OptionsRequest) {
    const Request request = parse_request(k_options_request);
    EXPECT_EQ(request.method, "OPTIONS");
    EXPECT_EQ(request.uri, "*");
    EXPECT_EQ(request.version, (Version{1, 0}));
    EXPECT_EQ(
        request.headers,
        make_headers({{"CSeq", "1"}, {"Require", "implicit-play"}, {"Proxy-Require", "gzipped-messages"}}));
    EXPECT_TRUE(request.body.empty());
}

TEST(RtspMessage, ParsesRfc2326OptionsResponse) {
    const Response response = parse_response(k_options_response);
    EXPECT_EQ(response.version, (Version{1, 0}));
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.reason, "OK");
    ASSERT_NE(response.headers.get("public"), nullptr);
    EXPECT_EQ(*response.headers.get("public"), "DESCRIBE, SETUP, TEARDOWN, PLAY, PAUSE");
}

TEST(RtspMessage, ParsesDescribeResponseWithSdpBody) {
    const Response response = parse_response(describe_response());
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(*response.headers.get("Content-Type"), "application/sdp");
    EXPECT_EQ(response.body, k_sdp);
}

TEST(RtspMessage, ParsesDescribeRequest) {
    const Request request = parse_request(
        "DESCRIBE rtsp://audio.example.com/twister/audio.en RTSP/1.0\r\nCSeq: 1\r\n"
        "Accept: application/sdp, application/rtsl, application/mheg\r\n\r\n");
    EXPECT_EQ(request.method, "DESCRIBE");
    EXPECT_EQ(request.uri, "rtsp://audio.example.com/twister/audio.en");
    EXPECT_EQ(*request.headers.get("accept"), "application/sdp, application/rtsl, application/mheg");
}

TEST(RtspMessage, JoinsFoldedHeaderLines) {
    const Response setup = parse_response(k_setup_response);
    EXPECT_EQ(*setup.headers.get("Transport"),
              "RTP/AVP/UDP;unicast;client_port=3056-3057; server_port=5000-5001");
    EXPECT_EQ(setup.headers.size(), 3u);

    const Response play = parse_response(k_play_response);
    EXPECT_EQ(*play.headers.get("RTP-Info"), "url=rtsp://foo.com/bar.file; seq=232433;rtptime=972948234");
    EXPECT_EQ(*play.headers.get("Date"), "05 Jun 1997 18:59:15 GMT");

    // A tab also continues a line, and several continuations each add one space.
    const Request folded =
        parse_request("SET_PARAMETER * RTSP/1.0\r\nX-A: one\r\n\ttwo\r\n   three  \r\n\r\n");
    EXPECT_EQ(*folded.headers.get("x-a"), "one two three");
    // A continuation of an empty value does not start with a space.
    const Request empty_first = parse_request("SET_PARAMETER * RTSP/1.0\r\nX-A:\r\n two\r\n\r\n");
    EXPECT_EQ(*empty_first.headers.get("x-a"), "two");
}

TEST(RtspMessage, ParsesRfc7826Request) {
    const Request request = parse_request(
        "OPTIONS rtsp://media.example.com/movie/twister.3gp RTSP/2.0\r\n"
        "CSeq: 1\r\n"
        "Supported: play.basic, play.scale\r\n"
        "User-Agent: PhonyClient/1.2\r\n"
        "\r\n");
    EXPECT_EQ(request.version, (Version{2, 0}));
    EXPECT_EQ(request.uri, "rtsp://media.example.com/movie/twister.3gp");
    EXPECT_EQ(*request.headers.get("user-agent"), "PhonyClient/1.2");

    const Response response = parse_response(
        "RTSP/2.0 200 OK\r\nCSeq: 1\r\nPublic: OPTIONS, SETUP, PLAY, PAUSE, TEARDOWN, PLAY_NOTIFY\r\n\r\n");
    EXPECT_EQ(response.version, (Version{2, 0}));
}

TEST(RtspMessage, StatusLineVariants) {
    EXPECT_EQ(parse_response("RTSP/1.0 404 Stream Not Found\r\n\r\n").reason, "Stream Not Found");
    const Response no_reason = parse_response("RTSP/1.0 200\r\n\r\n");
    EXPECT_EQ(no_reason.status, 200);
    EXPECT_EQ(no_reason.reason, "");
    EXPECT_EQ(parse_response("RTSP/1.0 999 x\r\n\r\n").status, 999);
    EXPECT_EQ(parse_response("RTSP/1.0 100 Continue\r\n\r\n").status, 100);
    EXPECT_EQ(parse_response("RTSP/12.34 200 OK\r\n\r\n").version, (Version{12, 34}));
}

TEST(RtspMessage, RejectsMalformedStartLines) {
    const std::vector<std::string_view> lines = {
        "OPTIONS",
        "OPTIONS *",
        "OPTIONS * HTTP/1.1",
        "OPTIONS * RTSP/1",
        "OPTIONS * RTSP/.0",
        "OPTIONS * RTSP/1.",
        "OPTIONS * RTSP/x.0",
        "OPTIONS * RTSP/1.0 ",
        "OPTIONS * rtsp/1.0",
        "OPTIONS * RTSP/1234.0",
        "OPTIONS  RTSP/1.0",
        "OPTIONS a b RTSP/1.0",
        "OPTIONS a\tb RTSP/1.0",
        "OPT(IONS * RTSP/1.0",
        "OPT/IONS * RTSP/1.0",
        " OPTIONS * RTSP/1.0",
        "RTSP/1.0",
        "RTSP/1.0 20 OK",
        "RTSP/1.0 2000 OK",
        "RTSP/1.0 099 Low",
        "RTSP/1.0 +20 OK",
        "RTSP/1.0 abc OK",
        "RTSP/1.0  200 OK",
        "RTSP/A.0 200 OK",
        "HTTP/1.0 200 OK",
        "GET / HTTP/1.1",
    };
    for (const auto line : lines) {
        const auto parsed = parse_item(std::string(line) + "\r\nCSeq: 1\r\n\r\n");
        EXPECT_TRUE(parsed.failed()) << line;
    }
}

TEST(RtspMessage, RejectsGarbageAtFirstByte) {
    // A TLS ClientHello or binary noise fails immediately instead of being buffered as a start line.
    for (const std::string_view garbage :
         {std::string_view("\x16\x03\x01", 3), std::string_view("\0abc", 4), std::string_view(" OPTIONS"),
          std::string_view("\xff"), std::string_view("{")}) {
        EXPECT_TRUE(parse_item(garbage).failed()) << garbage;
    }
    EXPECT_TRUE(parse_item(std::string_view("OPTI\0NS", 7)).failed());
    EXPECT_TRUE(parse_item(std::string_view("OPTIONS * RTSP/1.0\x01")).failed());
}

TEST(RtspMessage, RejectsMalformedHeaderLines) {
    const std::vector<std::string_view> headers = {
        "CSeq 1\r\n",                      // no colon
        " folded: first\r\n",              // continuation with nothing to continue
        "Bad Name: x\r\n",                 // space in name
        ": empty name\r\n",                // empty name
        "CSeq : 1\r\n",                    // whitespace before the colon
        "X-(paren): 1\r\n",                // separator in name
        std::string_view("X\x01: 1\r\n"),  // control in name
    };
    for (const auto header : headers) {
        const auto parsed = parse_item("OPTIONS * RTSP/1.0\r\n" + std::string(header) + "\r\n");
        EXPECT_TRUE(parsed.failed()) << header;
    }
}

TEST(RtspMessage, HeaderValuesAreTrimmedAndMayBeEmpty) {
    const Request request =
        parse_request("OPTIONS * RTSP/1.0\r\nCSeq:\t 7 \t\r\nX-Empty:\r\nX-Colon: a:b: c\r\n\r\n");
    EXPECT_EQ(*request.headers.get("cseq"), "7");
    EXPECT_EQ(*request.headers.get("x-empty"), "");
    EXPECT_EQ(*request.headers.get("x-colon"), "a:b: c");
}

// --- Line endings ------------------------------------------------------------------------------------

TEST(RtspMessage, AcceptsBareLfAndBareCrLineEndings) {
    const std::string crlf = describe_response();
    const Response expected = parse_response(crlf);
    std::string head = crlf.substr(0, crlf.size() - k_sdp.size());
    for (const std::string_view ending : {"\n", "\r"}) {
        std::string text;
        for (std::size_t i = 0; i < head.size(); ++i) {
            if (head[i] == '\r' && head[i + 1] == '\n') {
                text += ending;
                ++i;
            } else {
                text += head[i];
            }
        }
        text += k_sdp;
        const auto parsed = parse_item(text);
        ASSERT_TRUE(parsed.done()) << parsed.error;
        EXPECT_EQ(parsed.consumed, text.size());
        EXPECT_EQ(std::get<Response>(parsed.value), expected);
    }
    // Mixed endings within one message.
    EXPECT_EQ(parse_request("OPTIONS * RTSP/1.0\nCSeq: 1\r\nRequire: implicit-play\rProxy-Require: "
                            "gzipped-messages\r\n\n"),
              parse_request(k_options_request));
}

TEST(RtspMessage, TrailingCrWaitsForPossibleLf) {
    const std::string text = "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r";
    EXPECT_TRUE(parse_item(text).need_more());
    EXPECT_TRUE(parse_item("OPTIONS * RTSP/1.0\r").need_more());
    EXPECT_TRUE(parse_item("OPTIONS * RTSP/1.0\rCSeq: 1\r").need_more());

    const auto with_lf = parse_item(text + "\n");
    ASSERT_TRUE(with_lf.done());
    EXPECT_EQ(with_lf.consumed, text.size() + 1);

    // The next byte decides: not an LF, so the CR alone ended the header section.
    const auto with_next = parse_item(text + "OPTIONS");
    ASSERT_TRUE(with_next.done());
    EXPECT_EQ(with_next.consumed, text.size());
}

TEST(RtspMessage, SkipsKeepAliveEmptyLines) {
    const std::string text = "\r\n\r\n\n\r" + std::string(k_options_request);
    const auto parsed = parse_item(text);
    ASSERT_TRUE(parsed.done());
    EXPECT_EQ(parsed.consumed, text.size());
    EXPECT_EQ(std::get<Request>(parsed.value), parse_request(k_options_request));

    const auto blanks_only = parse_item("\r\n\r\n");
    EXPECT_TRUE(blanks_only.need_more());
    EXPECT_EQ(blanks_only.consumed, 0u);
    EXPECT_TRUE(parse_item("").need_more());
}

// --- Limits ------------------------------------------------------------------------------------------

Limits small_limits() {
    Limits limits;
    limits.max_blank_prefix = 8;
    limits.max_start_line = 32;
    limits.max_header_bytes = 64;
    limits.max_headers = 3;
    limits.max_body = 16;
    return limits;
}

TEST(RtspMessage, BlankPrefixLimit) {
    const Limits limits = small_limits();
    EXPECT_TRUE(parse_item(std::string(8, '\n'), limits).need_more());
    EXPECT_TRUE(parse_item(std::string(9, '\n'), limits).failed());
}

TEST(RtspMessage, StartLineLimitAppliesBeforeLineEnds) {
    const Limits limits = small_limits();
    const std::string at_limit = "GET " + std::string(28, 'a');  // 32 bytes
    EXPECT_TRUE(parse_item(at_limit, limits).need_more());
    EXPECT_TRUE(parse_item(at_limit + "\r", limits).need_more());
    // The limit counts the line's ending too (one framer for RTSP and HTTP): a 33rd byte may still be a CR
    // or LF, two more bytes cannot be.
    EXPECT_TRUE(parse_item(at_limit + "b", limits).need_more());
    EXPECT_TRUE(parse_item(at_limit + "bc", limits).failed());
    EXPECT_TRUE(parse_item(at_limit + "b\r\n\r\n", limits).failed());
    // A complete line of exactly the limit is fine (it is then rejected only for its syntax).
    const std::string line = "OPTIONS rtsp://h/abcdef RTSP/1.0";
    ASSERT_EQ(line.size(), 32u);
    EXPECT_TRUE(parse_item(line + "\r\n\r\n", limits).done());
    EXPECT_TRUE(parse_item("OPTIONS rtsp://h/abcdefg RTSP/1.0\r\n\r\n", limits).failed());
}

TEST(RtspMessage, HeaderSectionLimitAppliesBeforeSectionEnds) {
    const Limits limits = small_limits();
    const std::string start = "OPTIONS * RTSP/1.0\r\n";
    // 62 bytes of header lines + the 2-byte empty line = 64: accepted.
    const std::string fits = "X-A: " + std::string(55, 'v') + "\r\n";
    ASSERT_EQ(fits.size(), 62u);
    EXPECT_TRUE(parse_item(start + fits + "\r\n", limits).done());
    EXPECT_TRUE(parse_item(start + "X-A: " + std::string(56, 'v') + "\r\n\r\n", limits).failed());
    // An unterminated header line longer than the budget fails without waiting for its end.
    EXPECT_TRUE(parse_item(start + "X-A: " + std::string(57, 'v'), limits).need_more());
    EXPECT_TRUE(parse_item(start + "X-A: " + std::string(57, 'v') + "\n\n", limits).done());
    EXPECT_TRUE(parse_item(start + "X-A: " + std::string(58, 'v'), limits).failed());
    // So does an endless series of short lines.
    std::string many = start;
    while (many.size() < start.size() + 70)
        many += "X: 1\r\n";
    EXPECT_TRUE(parse_item(many, Limits{8, 32, 64, 1000, 16}).failed());
}

TEST(RtspMessage, HeaderCountLimit) {
    const Limits limits = small_limits();
    EXPECT_TRUE(parse_item("OPTIONS * RTSP/1.0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits).done());
    EXPECT_TRUE(parse_item("OPTIONS * RTSP/1.0\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n", limits).failed());
    // Continuation lines do not count as fields.
    EXPECT_TRUE(parse_item("OPTIONS * RTSP/1.0\r\nA: 1\r\n 1\r\n 1\r\nB: 2\r\nC: 3\r\n\r\n", limits).done());
}

TEST(RtspMessage, BodyLimit) {
    const Limits limits = small_limits();
    EXPECT_TRUE(parse_item("RTSP/1.0 200 OK\r\nContent-Length: 16\r\n\r\n", limits).need_more());
    // Rejected as soon as the header section is complete, before any body byte arrives.
    EXPECT_TRUE(parse_item("RTSP/1.0 200 OK\r\nContent-Length: 17\r\n\r\n", limits).failed());
    EXPECT_TRUE(parse_item("RTSP/1.0 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n").failed());
}

// --- Content-Length ----------------------------------------------------------------------------------

TEST(RtspMessage, ContentLengthMustBeStrictDecimal) {
    for (const std::string_view value :
         {"", "abc", "-1", "+5", "1 2", "0x10", "5,5", "1e3", "184467440737095516160"}) {
        const auto parsed =
            parse_item("RTSP/1.0 200 OK\r\nContent-Length: " + std::string(value) + "\r\n\r\nhello");
        EXPECT_TRUE(parsed.failed()) << value;
    }
    const auto padded = parse_item("RTSP/1.0 200 OK\r\nContent-Length:   5  \r\n\r\nhello");
    ASSERT_TRUE(padded.done());
    EXPECT_EQ(std::get<Response>(padded.value).body, "hello");
}

TEST(RtspMessage, DuplicateContentLength) {
    const std::string text = "RTSP/1.0 200 OK\r\nContent-Length: 5\r\ncontent-length: 005\r\n\r\nhello";
    const auto same = parse_item(text + "X");
    ASSERT_TRUE(same.done());
    EXPECT_EQ(same.consumed, text.size());
    EXPECT_EQ(std::get<Response>(same.value).body, "hello");

    EXPECT_TRUE(
        parse_item("RTSP/1.0 200 OK\r\nContent-Length: 5\r\nContent-Length: 4\r\n\r\nhello").failed());
}

TEST(RtspMessage, BodyWaitsForContentLengthBytes) {
    const std::string head = "RTSP/1.0 200 OK\r\nContent-Length: 4\r\n\r\n";
    EXPECT_TRUE(parse_item(head).need_more());
    EXPECT_TRUE(parse_item(head + "abc").need_more());
    const auto done = parse_item(head + std::string("a\r\n\0", 4) + "RTSP");
    ASSERT_TRUE(done.done());
    EXPECT_EQ(done.consumed, head.size() + 4);
    EXPECT_EQ(std::get<Response>(done.value).body, std::string("a\r\n\0", 4));
}

TEST(RtspMessage, NoContentLengthMeansNoBody) {
    const auto parsed = parse_item("RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\nv=0\r\n");
    ASSERT_TRUE(parsed.done());
    EXPECT_EQ(parsed.consumed, 28u);
    EXPECT_TRUE(std::get<Response>(parsed.value).body.empty());
}

// --- Interleaved frames ------------------------------------------------------------------------------

TEST(RtspMessage, ParsesInterleavedFrameZeroCopy) {
    const std::vector<std::uint8_t> data = {'$', 1, 0x00, 0x03, 0xAA, 0xBB, 0xCC, 'R'};
    const auto parsed = parse_item(Bytes(data));
    ASSERT_TRUE(parsed.done());
    EXPECT_EQ(parsed.consumed, 7u);
    const auto& frame = std::get<InterleavedFrame>(parsed.value);
    EXPECT_EQ(frame.channel, 1);
    ASSERT_EQ(frame.payload.size(), 3u);
    EXPECT_EQ(frame.payload.data(), data.data() + 4);  // a view into the input
    EXPECT_EQ(frame.payload[2], 0xCC);
}

TEST(RtspMessage, InterleavedFrameTruncatedAtEveryByte) {
    std::string frame = frame_bytes(0, std::string(300, 'x'));
    ASSERT_EQ(frame.size(), 304u);
    EXPECT_EQ(static_cast<unsigned char>(frame[2]), 0x01);
    EXPECT_EQ(static_cast<unsigned char>(frame[3]), 0x2C);
    for (std::size_t n = 0; n < frame.size(); ++n) {
        EXPECT_TRUE(parse_item(std::string_view(frame).substr(0, n)).need_more()) << n;
    }
    EXPECT_TRUE(parse_item(frame).done());

    const auto empty = parse_item(frame_bytes(255, ""));
    ASSERT_TRUE(empty.done());
    EXPECT_EQ(empty.consumed, 4u);
    EXPECT_EQ(std::get<InterleavedFrame>(empty.value).channel, 255);
    EXPECT_TRUE(std::get<InterleavedFrame>(empty.value).payload.empty());
}

TEST(RtspMessage, AppendInterleaved) {
    std::vector<std::uint8_t> out = {9};
    const std::vector<std::uint8_t> payload = {1, 2, 3};
    ASSERT_TRUE(append_interleaved(out, 2, payload));
    EXPECT_EQ(out, (std::vector<std::uint8_t>{9, '$', 2, 0, 3, 1, 2, 3}));

    const std::vector<std::uint8_t> max(65535, 7);
    std::vector<std::uint8_t> big;
    ASSERT_TRUE(append_interleaved(big, 0, max));
    EXPECT_EQ(big.size(), 65539u);
    EXPECT_EQ(big[2], 0xFF);
    EXPECT_EQ(big[3], 0xFF);
    const auto parsed = parse_item(Bytes(big));
    ASSERT_TRUE(parsed.done());
    EXPECT_EQ(std::get<InterleavedFrame>(parsed.value).payload.size(), 65535u);

    const std::vector<std::uint8_t> too_big(65536, 7);
    std::vector<std::uint8_t> untouched = {1};
    EXPECT_FALSE(append_interleaved(untouched, 0, too_big));
    EXPECT_EQ(untouched, (std::vector<std::uint8_t>{1}));
}

// --- Streams: interleaving and splitting -------------------------------------------------------------

// RFC 2326 section 10.12 exchange as the client sees it, with RTP/RTCP frames between the responses.
std::string interleaved_stream() {
    std::string s;
    s += "RTSP/1.0 200 OK\r\nCSeq: 2\r\nDate: 05 Jun 1997 18:57:18 GMT\r\n"
         "Transport: RTP/AVP/TCP;interleaved=0-1\r\nSession: 12345678\r\n\r\n";
    s += k_play_response;
    s += frame_bytes(0, std::string("\x80\x60\x00\x01rtp-one\r\n", 13));
    s += frame_bytes(0, std::string(200, '\n'));  // payload full of line endings
    s += frame_bytes(1, std::string_view("\x81\xc8\x00\x06rtcp", 8));
    s += "\r\n";  // a stray keep-alive between items
    s += describe_response();
    s += frame_bytes(0, "$$$$");
    s += "RTSP/1.0 200 OK\rCSeq: 4\n\r\n";
    return s;
}

TEST(RtspMessage, InterleavedFramesBetweenMessages) {
    const std::string stream = interleaved_stream();
    const StreamResult whole = feed_whole(stream);
    EXPECT_FALSE(whole.failed);
    EXPECT_TRUE(whole.leftover.empty());
    ASSERT_EQ(whole.items.size(), 8u);
    EXPECT_EQ(std::get<Response>(whole.items[0]).headers.size(), 4u);
    EXPECT_EQ(*std::get<Response>(whole.items[1]).headers.get("cseq"), "3");
    EXPECT_EQ(std::get<OwnedFrame>(whole.items[2]),
              OwnedFrame(0, std::string("\x80\x60\x00\x01rtp-one\r\n", 13)));
    EXPECT_EQ(std::get<OwnedFrame>(whole.items[3]), OwnedFrame(0, std::string(200, '\n')));
    EXPECT_EQ(std::get<OwnedFrame>(whole.items[4]).first, 1);
    EXPECT_EQ(std::get<Response>(whole.items[5]).body, k_sdp);
    EXPECT_EQ(std::get<OwnedFrame>(whole.items[6]), OwnedFrame(0, "$$$$"));
    EXPECT_EQ(*std::get<Response>(whole.items[7]).headers.get("cseq"), "4");
}

TEST(RtspMessage, ByteAtATimeMatchesWholeStream) {
    const std::string stream =
        interleaved_stream() + std::string(k_options_request) + std::string(k_setup_response);
    const StreamResult whole = feed_whole(stream);
    const StreamResult bytewise = feed_bytewise(stream);
    EXPECT_FALSE(whole.failed);
    EXPECT_EQ(whole.items.size(), 10u);
    EXPECT_EQ(bytewise.failed, whole.failed);
    EXPECT_EQ(bytewise.leftover, whole.leftover);
    EXPECT_EQ(bytewise.items, whole.items);
}

TEST(RtspMessage, SplitAtEveryPositionMatchesWholeStream) {
    const std::string stream = interleaved_stream();
    const StreamResult whole = feed_whole(stream);
    for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
        const StreamResult split = feed(stream, {cut});
        ASSERT_EQ(split.items, whole.items) << "cut at " << cut;
        EXPECT_EQ(split.leftover, whole.leftover);
    }
}

TEST(RtspMessage, ErrorIsReportedTheSameWayByteAtATime) {
    const std::string stream = std::string(k_options_request) + "RTSP/1.0 2x0 OK\r\n\r\n";
    const StreamResult whole = feed_whole(stream);
    const StreamResult bytewise = feed_bytewise(stream);
    EXPECT_TRUE(whole.failed);
    EXPECT_TRUE(bytewise.failed);
    EXPECT_EQ(whole.items.size(), 1u);
    EXPECT_EQ(bytewise.items, whole.items);
}

TEST(RtspMessage, MessageTruncatedAtEveryByteNeedsMore) {
    const std::string text = describe_response();
    for (std::size_t n = 0; n < text.size(); ++n) {
        const auto parsed = parse_item(std::string_view(text).substr(0, n));
        EXPECT_TRUE(parsed.need_more()) << n;
        EXPECT_EQ(parsed.consumed, 0u);
    }
}

// --- Headers -----------------------------------------------------------------------------------------

TEST(RtspHeaders, CaseInsensitiveLookupAndEditing) {
    Headers h;
    EXPECT_TRUE(h.empty());
    EXPECT_EQ(h.get("CSeq"), nullptr);
    h.add("CSeq", "1");
    h.add("Transport", "RTP/AVP;unicast");
    h.add("transport", "RTP/AVP/TCP;interleaved=0-1");
    ASSERT_NE(h.get("cseq"), nullptr);
    EXPECT_EQ(*h.get("CSEQ"), "1");
    EXPECT_TRUE(h.contains("TRANSPORT"));
    EXPECT_EQ(h.get_all("Transport"),
              (std::vector<std::string_view>{"RTP/AVP;unicast", "RTP/AVP/TCP;interleaved=0-1"}));

    h.set("TRANSPORT", "RTP/AVP;multicast");  // replaces the first, drops the rest, keeps the spelling
    EXPECT_EQ(h, make_headers({{"CSeq", "1"}, {"Transport", "RTP/AVP;multicast"}}));
    h.set("Session", "abc");  // appended when absent
    EXPECT_EQ(h.size(), 3u);
    EXPECT_EQ(h.fields().back(), (Header{"Session", "abc"}));

    h.add("session", "def");
    EXPECT_EQ(h.remove("SESSION"), 2u);
    EXPECT_EQ(h.remove("Session"), 0u);
    EXPECT_EQ(h, make_headers({{"CSeq", "1"}, {"Transport", "RTP/AVP;multicast"}}));
    std::size_t n = 0;
    for (const auto& field : h)
        n += field.name.size();
    EXPECT_EQ(n, 13u);
}

// --- Serializers -------------------------------------------------------------------------------------

TEST(RtspSerialize, RequestWireForm) {
    Request request;
    request.method = "SETUP";
    request.uri = "rtsp://example.com/media.mp4/streamid=0";
    request.headers.add("CSeq", "3");
    request.headers.add("Transport", "RTP/AVP;unicast;client_port=8000-8001");
    EXPECT_EQ(to_string(request),
              "SETUP rtsp://example.com/media.mp4/streamid=0 RTSP/1.0\r\n"
              "CSeq: 3\r\n"
              "Transport: RTP/AVP;unicast;client_port=8000-8001\r\n"
              "\r\n");
    request.version = Version{2, 0};
    request.method = "SET_PARAMETER";
    request.body = "barparam: barstuff\r\n";
    EXPECT_EQ(to_string(request),
              "SET_PARAMETER rtsp://example.com/media.mp4/streamid=0 RTSP/2.0\r\n"
              "CSeq: 3\r\n"
              "Transport: RTP/AVP;unicast;client_port=8000-8001\r\n"
              "Content-Length: 20\r\n"
              "\r\n"
              "barparam: barstuff\r\n");
}

TEST(RtspSerialize, ResponseWireFormAndDefaultReason) {
    Response response;
    response.status = 454;
    response.headers.add("CSeq", "9");
    EXPECT_EQ(to_string(response), "RTSP/1.0 454 Session Not Found\r\nCSeq: 9\r\n\r\n");
    response.reason = "Who Are You";
    EXPECT_EQ(to_string(response), "RTSP/1.0 454 Who Are You\r\nCSeq: 9\r\n\r\n");
}

TEST(RtspSerialize, ContentLengthFollowsBody) {
    Response response;
    response.headers.add("Content-Length", "999");
    response.headers.add("CSeq", "1");
    response.headers.add("content-length", "999");
    response.body = "abc";
    EXPECT_EQ(to_string(response), "RTSP/1.0 200 OK\r\nContent-Length: 3\r\nCSeq: 1\r\n\r\nabc");
    response.body.clear();
    EXPECT_EQ(to_string(response), "RTSP/1.0 200 OK\r\nContent-Length: 0\r\nCSeq: 1\r\n\r\n");
}

TEST(RtspSerialize, LineBreaksInFieldsCannotInjectHeaders) {
    Request request;
    request.method = "OPTIONS";
    request.uri = "*";
    request.headers.add("User-Agent", "evil\r\nSession: hijacked");
    const std::string wire = to_string(request);
    EXPECT_EQ(wire, "OPTIONS * RTSP/1.0\r\nUser-Agent: evil  Session: hijacked\r\n\r\n");
    const Request back = parse_request(wire);
    EXPECT_FALSE(back.headers.contains("Session"));
}

TEST(RtspSerialize, RoundTripsRfcExamples) {
    for (const std::string& text :
         {std::string(k_options_request), std::string("DESCRIBE rtsp://h/x RTSP/2.0\r\n\r\n")}) {
        const Request request = parse_request(text);
        EXPECT_EQ(to_string(request), text);
        EXPECT_EQ(parse_request(to_string(request)), request);
    }
    for (const std::string& text : {std::string(k_options_response), describe_response(),
                                    std::string(k_setup_response), std::string(k_play_response)}) {
        const Response response = parse_response(text);
        EXPECT_EQ(parse_response(to_string(response)), response);
    }
    EXPECT_EQ(to_string(parse_response(describe_response())), describe_response());
}

TEST(RtspSerialize, ReasonPhrases) {
    struct Case {
        int status;
        std::string_view reason;
    };
    const Case cases[] = {
        {100, "Continue"},
        {200, "OK"},
        {250, "Low on Storage Space"},
        {302, "Moved Temporarily"},
        {401, "Unauthorized"},
        {454, "Session Not Found"},
        {455, "Method Not Valid in This State"},
        {459, "Aggregate operation not allowed"},
        {461, "Unsupported transport"},
        {464, "Data Transport Not Ready Yet"},
        {470, "Connection Authorization Required"},
        {503, "Service Unavailable"},
        {505, "RTSP Version not supported"},
        {551, "Option not supported"},
        {553, "Proxy Unavailable"},
        {0, ""},
        {299, ""},
        {999, ""},
        {-200, ""},
    };
    for (const auto& c : cases)
        EXPECT_EQ(reason_phrase(c.status), c.reason) << c.status;
}

}  // namespace
}  // namespace sg::rtsp
