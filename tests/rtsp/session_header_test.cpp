#include "rtsp/session_header.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace sg::rtsp {
namespace {

struct SessionCase {
    std::string_view text;
    std::optional<SessionHeader> expected;
};

TEST(Session, ParsesValues) {
    const SessionCase cases[] = {
        // RFC 2326 §12.37 / §14 examples and real servers.
        {"12345678", SessionHeader{"12345678", std::nullopt}},
        {"47112344;timeout=60", SessionHeader{"47112344", 60u}},
        {"  A3eqwsafq3rFASqew ; timeout = 120 ", SessionHeader{"A3eqwsafq3rFASqew", 120u}},
        {"66334873;TimeOut=0", SessionHeader{"66334873", 0u}},
        {"1E4F3B2A;timeout=65;foo=bar;baz", SessionHeader{"1E4F3B2A", 65u}},  // unknown params ignored
        {"a$-_.+:/=~!*'()x", SessionHeader{"a$-_.+:/=~!*'()x", std::nullopt}},
        {"x;timeout=4294967295", SessionHeader{"x", 4294967295u}},
    };
    for (const auto& c : cases) {
        const auto r = parse_session(c.text);
        ASSERT_TRUE(r.ok()) << c.text << ": " << r.error();
        EXPECT_EQ(*r, *c.expected) << c.text;
    }
}

TEST(Session, RejectsBadValues) {
    const std::string_view bad[] = {
        "",
        " ",
        ";timeout=60",
        "abc def",
        "abc\x01",
        "abc\r\nX-Injected: 1",
        "a\"b\"",
        "abc\x80",
        "abc;timeout=",
        "abc;timeout=-1",
        "abc;timeout=60s",
        "abc;timeout=4294967296",
        "abc;timeout=1;timeout=2",
        "abc;bad name=1",
        "abc;\"quoted",
        "abc;a;b;c;d;e;f;g;h;i",
    };
    for (const auto text : bad)
        EXPECT_FALSE(parse_session(text).ok()) << text;
}

TEST(Session, IdLengthLimit) {
    const std::string longest(k_max_session_id_length, 'a');
    ASSERT_TRUE(parse_session(longest).ok());
    EXPECT_EQ(parse_session(longest)->id, longest);
    EXPECT_FALSE(parse_session(longest + "a").ok());
    EXPECT_FALSE(parse_session(longest + ";timeout=" + std::string(1000, '1')).ok());
}

TEST(Session, FormatsAndRoundTrips) {
    EXPECT_EQ(to_header_value(SessionHeader{"47112344", 60u}), "47112344;timeout=60");
    EXPECT_EQ(to_header_value(SessionHeader{"47112344", std::nullopt}), "47112344");
    for (const auto& s : {SessionHeader{"A3eq", 30u}, SessionHeader{"x", std::nullopt}}) {
        const auto back = parse_session(to_header_value(s));
        ASSERT_TRUE(back.ok());
        EXPECT_EQ(*back, s);
    }
}

TEST(Session, DefaultTimeout) {
    EXPECT_EQ(k_default_session_timeout, 60u);
    EXPECT_EQ(parse_session("abc")->timeout_or_default(), 60u);
    EXPECT_EQ(parse_session("abc;timeout=5")->timeout_or_default(), 5u);
    EXPECT_TRUE(is_valid_session_id("abc"));
    EXPECT_FALSE(is_valid_session_id("a;b"));
    EXPECT_FALSE(is_valid_session_id("a,b"));
}

}  // namespace
}  // namespace sg::rtsp
