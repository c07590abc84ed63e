#include "websocket/handshake.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sg::websocket {
namespace {

http::Request parse(std::string_view text) {
    auto parsed = http::parse_request(text);
    EXPECT_TRUE(parsed.done()) << parsed.error;
    return parsed.value;
}

// RFC 6455 section 1.3's example handshake, with ONVIF's subprotocol.
constexpr std::string_view k_handshake =
    "GET /stream HTTP/1.1\r\n"
    "Host: server.example.com\r\n"
    "Upgrade: websocket\r\n"
    "Connection: keep-alive, Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Origin: http://example.com\r\n"
    "Sec-WebSocket-Protocol: chat, rtsp.onvif.org\r\n"
    "Sec-WebSocket-Version: 13\r\n\r\n";

std::string with(std::string_view field, std::string_view replacement) {
    std::string text(k_handshake);
    const auto start = text.find(field);
    const auto end = text.find("\r\n", start);
    text.replace(start, end + 2 - start, replacement);
    return text;
}

TEST(WebSocketHandshake, AcceptValueIsTheRfcExample) {
    EXPECT_EQ(accept_value("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WebSocketHandshake, ParsesAndAnswersTheRfcExample) {
    const auto request = parse(k_handshake);
    ASSERT_TRUE(is_upgrade(request));
    const auto upgrade = parse_upgrade(request);
    ASSERT_TRUE(upgrade.done()) << upgrade.error;
    EXPECT_EQ(upgrade.value.path, "/stream");
    EXPECT_EQ(upgrade.value.origin, "http://example.com");
    EXPECT_TRUE(upgrade.value.offers_rtsp);
    const auto reply = accept_reply(upgrade.value);
    EXPECT_TRUE(reply.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
    EXPECT_NE(reply.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"), std::string::npos);
    EXPECT_NE(reply.find("Sec-WebSocket-Protocol: rtsp.onvif.org\r\n"), std::string::npos);
    EXPECT_TRUE(reply.ends_with("\r\n\r\n"));
}

TEST(WebSocketHandshake, NoSubprotocolOfferedIsAnsweredWithoutOne) {
    const auto upgrade = parse_upgrade(parse(with("Sec-WebSocket-Protocol", "")));
    ASSERT_TRUE(upgrade.done());
    EXPECT_FALSE(upgrade.value.offers_rtsp);
    EXPECT_EQ(accept_reply(upgrade.value).find("Sec-WebSocket-Protocol"), std::string::npos);
}

TEST(WebSocketHandshake, PlainHttpIsNoUpgrade) {
    EXPECT_FALSE(is_upgrade(parse("GET / HTTP/1.1\r\nHost: x\r\n\r\n")));
    EXPECT_FALSE(is_upgrade(parse("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\n\r\n")));
    EXPECT_TRUE(is_upgrade(parse("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: foo, WebSocket\r\n\r\n")));
}

TEST(WebSocketHandshake, RefusalsCarryTheirStatus) {
    const struct {
        std::string text;
        int status;
    } cases[] = {
        {with("Sec-WebSocket-Version", "Sec-WebSocket-Version: 8\r\n"), 426},
        {with("Sec-WebSocket-Version", ""), 426},
        {with("Sec-WebSocket-Key", ""), 400},
        {with("Sec-WebSocket-Key", "Sec-WebSocket-Key: short==\r\n"), 400},
        {with("Sec-WebSocket-Key", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=x\r\n"), 400},
        {with("Connection", "Connection: keep-alive\r\n"), 400},
        {with("Sec-WebSocket-Protocol", "Sec-WebSocket-Protocol: chat\r\n"), 400},
        {"POST" + std::string(k_handshake.substr(3)), 405},
        {with("GET /stream HTTP/1.1", "GET /stream HTTP/1.0\r\n"), 400},
    };
    for (const auto& c : cases) {
        const auto upgrade = parse_upgrade(parse(c.text));
        EXPECT_TRUE(upgrade.failed()) << c.text;
        EXPECT_EQ(upgrade.error_status, c.status) << c.text;
    }
}

TEST(WebSocketHandshake, ProtocolListsMaySpanFields) {
    const auto upgrade = parse_upgrade(parse(with("Sec-WebSocket-Protocol",
                                                  "Sec-WebSocket-Protocol: chat\r\n"
                                                  "Sec-WebSocket-Protocol: rtsp.onvif.org\r\n")));
    ASSERT_TRUE(upgrade.done());
    EXPECT_TRUE(upgrade.value.offers_rtsp);
}

TEST(WebSocketHandshake, RefusalReplies) {
    const auto refused = refusal_reply(426);
    EXPECT_TRUE(refused.starts_with("HTTP/1.1 426 Upgrade Required\r\n"));
    EXPECT_NE(refused.find("Sec-WebSocket-Version: 13\r\n"), std::string::npos);
    EXPECT_NE(refused.find("Connection: close\r\n"), std::string::npos);
    EXPECT_TRUE(refusal_reply(403).starts_with("HTTP/1.1 403 Forbidden\r\n"));
    EXPECT_TRUE(refusal_reply(200).starts_with("HTTP/1.1 400 "));
}

TEST(WebSocketHandshake, OriginsMustBeListedWhenSent) {
    Upgrade from_browser;
    from_browser.has_origin = true;
    from_browser.origin = "http://Viewer.example:8000";
    Upgrade not_a_browser;
    const std::vector<std::string> none;
    const std::vector<std::string> listed{"http://viewer.example:8000"};
    const std::vector<std::string> other{"http://viewer.example"};
    const std::vector<std::string> any{"*"};
    EXPECT_TRUE(origin_allowed(not_a_browser, none));
    EXPECT_FALSE(origin_allowed(from_browser, none));
    EXPECT_TRUE(origin_allowed(from_browser, listed));
    EXPECT_FALSE(origin_allowed(from_browser, other));
    EXPECT_TRUE(origin_allowed(from_browser, any));
}

TEST(WebSocketHandshake, ClientRequestIsAcceptedAndItsAnswerChecked) {
    const auto key = make_key();
    EXPECT_EQ(key.size(), 24u);
    EXPECT_NE(make_key(), key);
    const auto request = parse(client_request("/live", "[2001:db8::1]:8554", key));
    ASSERT_TRUE(is_upgrade(request));
    const auto upgrade = parse_upgrade(request);
    ASSERT_TRUE(upgrade.done()) << upgrade.error;
    EXPECT_EQ(upgrade.value.path, "/live");
    EXPECT_TRUE(upgrade.value.offers_rtsp);
    EXPECT_FALSE(upgrade.value.has_origin);
    EXPECT_EQ(check_reply(accept_reply(upgrade.value), key), std::nullopt);

    EXPECT_EQ(check_reply(accept_reply(upgrade.value), make_key()), "wrong Sec-WebSocket-Accept");
    EXPECT_EQ(check_reply(refusal_reply(403), key), "refused");
    EXPECT_EQ(check_reply("RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n", key), "the answer is not HTTP");
    auto other = accept_reply(upgrade.value);
    other.replace(other.find("rtsp.onvif.org"), 14, "chat");
    EXPECT_EQ(check_reply(other, key), "another subprotocol chosen");
}

TEST(WebSocketHandshake, OriginEntries) {
    for (const char* good :
         {"*", "null", "https://viewer.example", "http://127.0.0.1:9131", "http://[::1]:80"}) {
        const auto entry = parse_origin_entry(good);
        ASSERT_TRUE(entry) << good;
        EXPECT_EQ(*entry, good);
    }
    for (const char* bad : {"", "viewer.example", "https://", "://x", "https://x/", "https://a b", "nul"})
        EXPECT_FALSE(parse_origin_entry(bad)) << bad;
}

}  // namespace
}  // namespace sg::websocket
