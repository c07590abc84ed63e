#include "http/http_response.hpp"

#include <gtest/gtest.h>

namespace sg::http {
namespace {

TEST(HttpResponse, ReadsWhatTheAdminListenerWrites) {
    const std::string body = "{\"error\": \"no such session\"}\n";
    const auto wire = response(404, "application/json", body, {});
    const auto parsed = parse_response(wire);
    ASSERT_TRUE(parsed) << parsed.error();
    EXPECT_EQ(parsed->status, 404);
    ASSERT_NE(parsed->header("content-type"), nullptr);
    EXPECT_EQ(*parsed->header("content-type"), "application/json");
    EXPECT_EQ(parsed->body, body);
}

TEST(HttpResponse, ContentLengthBoundsTheBody) {
    const auto parsed = parse_response("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}trailing");
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->body, "{}");
}

TEST(HttpResponse, WithoutContentLengthTheCloseEndsTheBody) {
    const auto parsed = parse_response("HTTP/1.0 200\r\n\r\nall of it");
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->status, 200);
    EXPECT_EQ(parsed->body, "all of it");
}

TEST(HttpResponse, RefusesBrokenResponses) {
    for (const std::string_view bad : {
             "",                                                    // the server closed at once
             "HTTP/1.1 200 OK",                                     // no line end
             "SSH-2.0-OpenSSH_9.2\r\n\r\n",                         // not HTTP
             "HTTP/1.1 2x0 OK\r\n\r\n",                             // status not three digits
             "HTTP/1.1 200 OK\r\nno colon\r\n\r\n",                 // bad field
             "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",  // cut off
             "HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n",      // bad length
             "HTTP/1.1 200 OK\r\nContent-Type: a\r\n",              // head not ended
         }) {
        EXPECT_FALSE(parse_response(bad)) << bad;
    }
}

}  // namespace
}  // namespace sg::http
