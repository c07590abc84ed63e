#include "relay/bencode.hpp"

#include <gtest/gtest.h>

#include <string>

namespace sg::relay::bencode {
namespace {

TEST(Bencode, ParsesEveryKindAndReportsConsumedBytes) {
    const std::string text = "d7:command4:ping4:listli1ei-42e0:e1:xi0eeTRAILING";
    auto parsed = parse(text);
    ASSERT_TRUE(parsed) << parsed.error();
    EXPECT_EQ(parsed->consumed, text.size() - 8);
    const Value& v = parsed->value;
    ASSERT_TRUE(v.is_dict());
    ASSERT_EQ(v.dict.size(), 3U);
    EXPECT_EQ(v.find("command")->string, "ping");
    const Value* list = v.find("list");
    ASSERT_TRUE(list && list->is_list());
    ASSERT_EQ(list->list.size(), 3U);
    EXPECT_EQ(list->list[0].integer, 1);
    EXPECT_EQ(list->list[1].integer, -42);
    EXPECT_TRUE(list->list[2].is_string());
    EXPECT_EQ(list->list[2].string, "");
    EXPECT_EQ(v.find("x")->integer, 0);
    EXPECT_EQ(v.find("missing"), nullptr);
}

TEST(Bencode, KeepsUnsortedKeysInArrivalOrderAndWritesThemBack) {
    // Kamailio sends "sdp" before "call-id" before "command": not BEP 3's sorted order.
    const std::string text = "d3:sdp3:v=07:call-id2:ab7:command5:offere";
    auto parsed = parse(text);
    ASSERT_TRUE(parsed) << parsed.error();
    EXPECT_EQ(parsed->value.dict[0].key, "sdp");
    EXPECT_EQ(parsed->value.dict[2].key, "command");
    EXPECT_EQ(encode(parsed->value), text);
}

TEST(Bencode, BinaryStringsRoundTrip) {
    std::string payload("a\0b:e\xff", 6);
    Value v = Value::make_dict();
    v.add("blob", Value::make_string(payload));
    const std::string text = encode(v);
    auto parsed = parse(text);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->value, v);
    EXPECT_EQ(parsed->value.find("blob")->string.size(), 6U);
}

TEST(Bencode, Int64LimitsAreExactAndOverflowIsRefused) {
    auto max = parse("i9223372036854775807e");
    ASSERT_TRUE(max);
    EXPECT_EQ(max->value.integer, INT64_MAX);
    auto min = parse("i-9223372036854775808e");
    ASSERT_TRUE(min);
    EXPECT_EQ(min->value.integer, INT64_MIN);
    EXPECT_EQ(encode(min->value), "i-9223372036854775808e");
    EXPECT_FALSE(parse("i9223372036854775808e"));
    EXPECT_FALSE(parse("i-9223372036854775809e"));
    EXPECT_FALSE(parse("i99999999999999999999999e"));
}

struct Bad {
    const char* text;
    const char* why;
};

class BencodeRefuses : public ::testing::TestWithParam<Bad> {};

TEST_P(BencodeRefuses, Input) {
    auto parsed = parse(GetParam().text);
    EXPECT_FALSE(parsed) << GetParam().why;
    if (!parsed) {
        EXPECT_FALSE(parsed.error().empty());
    }
}

INSTANTIATE_TEST_SUITE_P(
    Bencode, BencodeRefuses,
    ::testing::Values(Bad{"", "empty"}, Bad{"i03e", "leading zero"}, Bad{"i-0e", "negative zero"},
                      Bad{"ie", "no digits"}, Bad{"i-e", "sign only"}, Bad{"i12", "not closed"},
                      Bad{"i1.5e", "not an integer"}, Bad{"03:abc", "length with a leading zero"},
                      Bad{"4:abc", "short string"}, Bad{"3abc", "no colon"}, Bad{"l", "open list"},
                      Bad{"d3:abc", "dict without value"}, Bad{"di1ei2ee", "integer key"},
                      Bad{"dl1:ae1:be", "list key"}, Bad{"x", "unknown type"}, Bad{"-1:a", "negative length"},
                      Bad{"99999999999999999999999:a", "length overflow"}));

TEST(Bencode, DepthLimitIsEnforcedAtTheLimit) {
    Limits limits;
    limits.max_depth = 4;
    EXPECT_TRUE(
        parse("llllee"
              "ee",
              limits));  // depth 4
    EXPECT_FALSE(
        parse("lllllee"
              "eee",
              limits));  // depth 5
    // The default limit holds against a deep input without exhausting the stack.
    EXPECT_FALSE(parse(std::string(100000, 'l')));
    EXPECT_TRUE(parse(std::string(32, 'l') + std::string(32, 'e')));
    EXPECT_FALSE(parse(std::string(33, 'l') + std::string(33, 'e')));
}

TEST(Bencode, ValueCountLimitCountsKeysAndValues) {
    Limits limits;
    limits.max_values = 5;
    EXPECT_TRUE(parse("li1ei2ei3ei4ee", limits));      // list + 4 integers
    EXPECT_FALSE(parse("li1ei2ei3ei4ei5ee", limits));  // list + 5
    EXPECT_TRUE(parse("d1:ai1e1:bi2ee", limits));      // dict + 2 keys + 2 values
    EXPECT_FALSE(parse("d1:ai1e1:bi2e1:ci3ee", limits));
}

TEST(Bencode, TruncationIsToldApartFromInvalidInput) {
    const std::string text = "d3:sdp12:v=0\r\nc=IN IPe";
    for (std::size_t n = 0; n < text.size() - 1; ++n) {
        auto parsed = parse(text.substr(0, n));
        ASSERT_FALSE(parsed) << n;
        EXPECT_EQ(parsed.error(), k_truncated) << n;
    }
    EXPECT_NE(parse("i03").error(), k_truncated);
    EXPECT_NE(parse("70000:").error(), k_truncated);  // over the 64 KiB input limit: never satisfiable
}

TEST(Bencode, InputSizeLimit) {
    Limits limits;
    limits.max_input = 10;
    EXPECT_TRUE(parse("8:12345678", limits));
    EXPECT_FALSE(parse("9:123456789", limits));
    const std::string big = "65536:" + std::string(65536, 'x');
    EXPECT_FALSE(parse(big));  // over the default 64 KiB
}

TEST(Bencode, BuildersEncodeAsRtpengineReplies) {
    Value reply = Value::make_dict();
    reply.add("result", Value::make_string("pong"));
    EXPECT_EQ(encode(reply), "d6:result4:ponge");
    Value list = Value::make_list();
    list.push(Value::make_integer(-7));
    list.push(Value::make_string("x"));
    EXPECT_EQ(encode(list), "li-7e1:xe");
}

}  // namespace
}  // namespace sg::relay::bencode
