#include "http/rtsp_tunnel.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace sg::http {
namespace {

// The heads ffmpeg 5.1 (libavformat/rtsp.c, `-rtsp_transport http`) sends, captured byte for byte.
constexpr std::string_view k_ffmpeg_get =
    "GET /clip.mp4 HTTP/1.1\r\n"
    "User-Agent: Lavf/59.27.100\r\n"
    "Range: bytes=0-\r\n"
    "Connection: close\r\n"
    "Host: 127.0.0.1:18554\r\n"
    "Icy-MetaData: 1\r\n"
    "x-sessioncookie: 9f77045364a1e11f\r\n"
    "Accept: application/x-rtsp-tunnelled\r\n"
    "Pragma: no-cache\r\n"
    "Cache-Control: no-cache\r\n"
    "\r\n";
constexpr std::string_view k_ffmpeg_post =
    "POST /clip.mp4 HTTP/1.1\r\n"
    "User-Agent: Lavf/59.27.100\r\n"
    "Accept: */*\r\n"
    "Connection: close\r\n"
    "Host: 127.0.0.1:18554\r\n"
    "Icy-MetaData: 1\r\n"
    "x-sessioncookie: 9f77045364a1e11f\r\n"
    "Content-Type: application/x-rtsp-tunnelled\r\n"
    "Pragma: no-cache\r\n"
    "Cache-Control: no-cache\r\n"
    "Content-Length: 32767\r\n"
    "Expires: Sun, 9 Jan 1972 00:00:00 GMT\r\n"
    "\r\n";

TEST(ClassifyFirstBytes, TellsHttpFromRtsp) {
    EXPECT_EQ(classify_first_bytes(k_ffmpeg_get), FirstBytes::http);
    EXPECT_EQ(classify_first_bytes("POST /a HTTP/1.0\r\n"), FirstBytes::http);
    EXPECT_EQ(classify_first_bytes("\r\nGET / HTTP/1.1\n"), FirstBytes::http);
    EXPECT_EQ(classify_first_bytes("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n"), FirstBytes::rtsp);
    EXPECT_EQ(classify_first_bytes("DESCRIBE rtsp://h/a RTSP/1.0\r"), FirstBytes::rtsp);  // a lone CR ends it
    EXPECT_EQ(classify_first_bytes("$\x00\x00\x04"), FirstBytes::rtsp);
    EXPECT_EQ(classify_first_bytes("GET / HTTP/2.0\r\n"), FirstBytes::rtsp);  // not ours: RTSP refuses it
    EXPECT_EQ(classify_first_bytes("garbage\r\n"), FirstBytes::rtsp);
}

TEST(ClassifyFirstBytes, WaitsForTheWholeFirstLineUpToTheLimit) {
    EXPECT_EQ(classify_first_bytes(""), FirstBytes::need_more);
    EXPECT_EQ(classify_first_bytes("\r\n"), FirstBytes::need_more);
    EXPECT_EQ(classify_first_bytes("GET / HTTP/1."), FirstBytes::need_more);
    EXPECT_EQ(classify_first_bytes(std::string(100, 'A'), 64), FirstBytes::rtsp);
    EXPECT_EQ(classify_first_bytes(std::string(100, '\n'), 64), FirstBytes::rtsp);
}

TEST(ParseTunnelHead, ReadsFfmpegsGetAndPost) {
    const auto get = parse_tunnel_head(k_ffmpeg_get);
    ASSERT_TRUE(get.done()) << get.error;
    EXPECT_EQ(get.consumed, k_ffmpeg_get.size());
    EXPECT_EQ(get.value.role, TunnelRole::get);
    EXPECT_EQ(get.value.cookie, "9f77045364a1e11f");
    EXPECT_EQ(get.value.path, "/clip.mp4");

    // The body (base64) follows the head and is not consumed.
    const std::string post_with_body = std::string(k_ffmpeg_post) + "T1BUSU9OUyAq";
    const auto post = parse_tunnel_head(post_with_body);
    ASSERT_TRUE(post.done()) << post.error;
    EXPECT_EQ(post.consumed, k_ffmpeg_post.size());
    EXPECT_EQ(post.value.role, TunnelRole::post);
    EXPECT_EQ(post.value.cookie, "9f77045364a1e11f");
}

TEST(ParseTunnelHead, NeedsTheWholeHead) {
    for (std::size_t n = 0; n < k_ffmpeg_get.size(); ++n)
        EXPECT_TRUE(parse_tunnel_head(k_ffmpeg_get.substr(0, n)).need_more()) << n;
}

TEST(ParseTunnelHead, RefusesWhatIsNotATunnel) {
    struct Case {
        std::string_view head;
        int status;
    };
    const Case cases[] = {
        {"GET / HTTP/1.0\r\n\r\n", 400},                          // no cookie
        {"GET / HTTP/1.0\r\nx-sessioncookie: \r\n\r\n", 400},     // empty cookie
        {"GET / HTTP/1.0\r\nx-sessioncookie: a b\r\n\r\n", 400},  // not one token
        {"PUT / HTTP/1.0\r\nx-sessioncookie: abc\r\n\r\n", 405},  // neither GET nor POST
        {"POST / HTTP/1.0\r\nx-sessioncookie: abc\r\nContent-Type: text/plain\r\n\r\n", 415},
        {"GET / HTTP/1.1\r\nx-sessioncookie: abc\r\n\r\n", 400},  // HTTP/1.1 without Host
        {"GET / HTTP/1.0\r\nx-sessioncookie: abc\r\nx-sessioncookie: abc\r\nbad line\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nx-sessioncookie: abc\r\n\r\n", 413},
    };
    for (const auto& c : cases) {
        const auto parsed = parse_tunnel_head(c.head);
        ASSERT_TRUE(parsed.failed()) << c.head;
        EXPECT_EQ(parsed.error_status, c.status) << c.head;
    }
    const std::string long_cookie =
        "GET / HTTP/1.0\r\nx-sessioncookie: " + std::string(k_max_cookie + 1, 'c') + "\r\n\r\n";
    EXPECT_TRUE(parse_tunnel_head(long_cookie).failed());
}

TEST(TunnelReplies, AreWellFormed) {
    const auto ok = tunnel_get_reply();
    EXPECT_TRUE(ok.starts_with("HTTP/1.0 200 OK\r\n"));
    EXPECT_NE(ok.find("Content-Type: application/x-rtsp-tunnelled\r\n"), std::string::npos);
    EXPECT_TRUE(ok.ends_with("\r\n\r\n"));
    EXPECT_EQ(ok.find("Content-Length"), std::string::npos);
    const auto not_found = tunnel_error_reply(404);
    EXPECT_TRUE(not_found.starts_with("HTTP/1.1 404 Not Found\r\n")) << not_found;
    EXPECT_NE(not_found.find("Connection: close\r\n"), std::string::npos);
}

using Cookies = TunnelCookies<int>;
using Clock = Cookies::Clock;
constexpr auto k_wait = std::chrono::seconds(10);

TEST(TunnelCookies, PairsAPostWithItsGet) {
    Cookies cookies(8, k_wait);
    const Clock::time_point t0{};
    ASSERT_EQ(cookies.register_get("c1", 1, t0), Cookies::Registered::ok);
    ASSERT_EQ(cookies.register_get("c2", 2, t0), Cookies::Registered::ok);
    const auto claim = cookies.claim_post("c2", t0 + std::chrono::seconds(1));
    ASSERT_NE(claim.get, nullptr);
    EXPECT_EQ(*claim.get, 2);
    EXPECT_EQ(cookies.claim_post("nope", t0).get, nullptr);
}

TEST(TunnelCookies, RefusesACookieUsedTwice) {
    Cookies cookies(8, k_wait);
    const Clock::time_point t0{};
    ASSERT_EQ(cookies.register_get("c", 1, t0), Cookies::Registered::ok);
    EXPECT_EQ(cookies.register_get("c", 2, t0), Cookies::Registered::in_use);
    const auto first = cookies.claim_post("c", t0);
    ASSERT_NE(first.get, nullptr);
    EXPECT_EQ(cookies.claim_post("c", t0).get, nullptr);  // a second POST while the first feeds the GET
    // The client may close its POST and open another one.
    cookies.release("c", first.generation);
    const auto second = cookies.claim_post("c", t0 + 2 * k_wait);
    ASSERT_NE(second.get, nullptr);
    // A stale release (an older POST ending late) does not free the cookie held by the newer one.
    cookies.release("c", first.generation);
    EXPECT_EQ(cookies.claim_post("c", t0).get, nullptr);
    // The GET ends: the cookie is free for a new tunnel.
    cookies.remove("c");
    EXPECT_EQ(cookies.register_get("c", 3, t0), Cookies::Registered::ok);
}

TEST(TunnelCookies, AGetWhosePostNeverComesExpires) {
    Cookies cookies(2, k_wait);
    const Clock::time_point t0{};
    ASSERT_EQ(cookies.register_get("a", 1, t0), Cookies::Registered::ok);
    ASSERT_EQ(cookies.register_get("b", 2, t0), Cookies::Registered::ok);
    EXPECT_EQ(cookies.register_get("c", 3, t0 + std::chrono::seconds(1)), Cookies::Registered::full);
    ASSERT_NE(cookies.claim_post("b", t0 + std::chrono::seconds(1)).get, nullptr);
    // "a" waited too long: its POST is refused and its place goes to the next GET; "b" is paired and stays.
    EXPECT_EQ(cookies.claim_post("a", t0 + k_wait + std::chrono::seconds(1)).get, nullptr);
    EXPECT_EQ(cookies.register_get("c", 3, t0 + k_wait + std::chrono::seconds(1)), Cookies::Registered::ok);
    EXPECT_EQ(cookies.size(), 2U);
    EXPECT_EQ(cookies.claim_post("a", t0 + k_wait + std::chrono::seconds(1)).get, nullptr);
}

}  // namespace
}  // namespace sg::http
