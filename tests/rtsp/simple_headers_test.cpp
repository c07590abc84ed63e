#include "rtsp/simple_headers.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace sg::rtsp {
namespace {

using Strings = std::vector<std::string>;

TEST(SplitUnquoted, KeepsQuotedSeparators) {
    const auto items = split_unquoted(R"(a, "b,c" , "d\",e", f)", ',', 10);
    ASSERT_TRUE(items.ok()) << items.error();
    ASSERT_EQ(items->size(), 4u);
    EXPECT_EQ((*items)[0], "a");
    EXPECT_EQ((*items)[1], R"("b,c")");
    EXPECT_EQ((*items)[2], R"("d\",e")");
    EXPECT_EQ((*items)[3], "f");
}

TEST(SplitUnquoted, KeepsEmptyItemsAndBoundsCount) {
    const auto items = split_unquoted(",a,", ',', 3);
    ASSERT_TRUE(items.ok());
    EXPECT_EQ(*items, (std::vector<std::string_view>{"", "a", ""}));
    EXPECT_FALSE(split_unquoted(",a,", ',', 2).ok());
    EXPECT_FALSE(split_unquoted("a,b,c,d", ',', 3).ok());
    EXPECT_TRUE(split_unquoted("a,b,c", ',', 3).ok());
}

TEST(SplitUnquoted, RejectsUnterminatedQuotes) {
    for (const std::string_view bad : {R"(a,"b)", R"("abc\")", R"(")", R"("a\)"}) {
        EXPECT_FALSE(split_unquoted(bad, ',', 10).ok()) << bad;
    }
}

struct UnquoteCase {
    std::string_view text;
    std::optional<std::string> expected;
};

TEST(Unquote, ResolvesQuotedPairsAndRejectsJunk) {
    const UnquoteCase cases[] = {
        {R"("abc")", "abc"},
        {R"("")", ""},
        {R"("a\"b\\c")", R"(a"b\c)"},
        {R"("a\b")", "ab"},
        {"\"tab\there\"", "tab\there"},
        {R"(abc)", std::nullopt},
        {R"("abc)", std::nullopt},
        {R"("a"b")", std::nullopt},
        {R"("abc\")", std::nullopt},
        {"\"a\r\nb\"", std::nullopt},
        {"\"a\\\nb\"", std::nullopt},
        {R"(")", std::nullopt},
    };
    for (const auto& c : cases) {
        const auto r = unquote(c.text);
        ASSERT_EQ(r.ok(), c.expected.has_value()) << c.text;
        if (c.expected) {
            EXPECT_EQ(*r, *c.expected) << c.text;
        }
    }
}

TEST(Quote, EscapesAndRoundTrips) {
    EXPECT_EQ(quote(R"(a"b\c)"), R"("a\"b\\c")");
    EXPECT_EQ(quote("x\r\ny"), R"("xy")");  // never emits CR/LF
    for (const std::string_view s : {"", "plain", R"(a"b)", R"(\\)", "a,b;c"}) {
        const auto back = unquote(quote(s));
        ASSERT_TRUE(back.ok()) << s;
        EXPECT_EQ(*back, s);
    }
    EXPECT_EQ(token_or_quoted("utf-8"), "utf-8");
    EXPECT_EQ(token_or_quoted("a b"), R"("a b")");
    EXPECT_EQ(token_or_quoted(""), R"("")");
}

TEST(Token, Characters) {
    EXPECT_TRUE(is_token("DESCRIBE"));
    EXPECT_TRUE(is_token("play.basic"));
    EXPECT_TRUE(is_token("setup.rtp.rtcp.mux"));
    EXPECT_FALSE(is_token(""));
    EXPECT_FALSE(is_token("a b"));
    EXPECT_FALSE(is_token("a/b"));
    EXPECT_FALSE(is_token("a\x7f"));
    EXPECT_FALSE(is_token("caf\xc3\xa9"));
}

struct CSeqCase {
    std::string_view text;
    std::optional<std::uint32_t> expected;
};

TEST(CSeq, IsStrict) {
    const CSeqCase cases[] = {
        {"1", 1u},
        {" 302 ", 302u},
        {"4294967295", 4294967295u},
        {"4294967296", std::nullopt},
        {"", std::nullopt},
        {"-1", std::nullopt},
        {"+1", std::nullopt},
        {"1 2", std::nullopt},
        {"0x10", std::nullopt},
        {"12a", std::nullopt},
    };
    for (const auto& c : cases) {
        const auto r = parse_cseq(c.text);
        ASSERT_EQ(r.ok(), c.expected.has_value()) << c.text;
        if (c.expected) {
            EXPECT_EQ(*r, *c.expected);
        }
    }
    EXPECT_EQ(format_cseq(4294967295u), "4294967295");
}

TEST(Numbers, Uint64AndUint32) {
    EXPECT_EQ(*parse_uint64_value("18446744073709551615"), 18446744073709551615u);
    EXPECT_FALSE(parse_uint64_value("18446744073709551616").ok());
    EXPECT_EQ(*parse_uint32_value("\t7"), 7u);
    EXPECT_FALSE(parse_uint32_value("7.0").ok());
}

TEST(ContentBase, TrimsAndValidates) {
    EXPECT_EQ(*parse_content_base("  rtsp://example.com/media.mp4/  "), "rtsp://example.com/media.mp4/");
    EXPECT_FALSE(parse_content_base("").ok());
    EXPECT_FALSE(parse_content_base("   ").ok());
    EXPECT_FALSE(parse_content_base("rtsp://a/b c").ok());
    EXPECT_FALSE(parse_content_base("rtsp://a/\r\nX: y").ok());
    EXPECT_FALSE(parse_content_base(std::string(k_max_url_length + 1, 'a')).ok());
}

struct ListCase {
    std::string_view text;
    std::optional<Strings> expected;
};

TEST(MethodList, ParsesPublicAndAllow) {
    const ListCase cases[] = {
        // RFC 2326 §12.28 example.
        {"DESCRIBE, SETUP, TEARDOWN, PLAY, PAUSE", Strings{"DESCRIBE", "SETUP", "TEARDOWN", "PLAY", "PAUSE"}},
        {"OPTIONS,DESCRIBE,SETUP,TEARDOWN,PLAY,PAUSE,GET_PARAMETER,SET_PARAMETER",
         Strings{"OPTIONS", "DESCRIBE", "SETUP", "TEARDOWN", "PLAY", "PAUSE", "GET_PARAMETER",
                 "SET_PARAMETER"}},
        {" OPTIONS ,, PLAY ,", Strings{"OPTIONS", "PLAY"}},
        {"", std::nullopt},
        {" , ,", std::nullopt},
        {"PLAY PAUSE", std::nullopt},
        {"PLAY;x", std::nullopt},
        {"\"PLAY\"", std::nullopt},
    };
    for (const auto& c : cases) {
        const auto r = parse_method_list(c.text);
        ASSERT_EQ(r.ok(), c.expected.has_value()) << c.text;
        if (c.expected) {
            EXPECT_EQ(*r, *c.expected) << c.text;
        }
    }
}

TEST(TokenList, AllowsEmptyAndBoundsCount) {
    EXPECT_EQ(*parse_option_tags(""), Strings{});
    EXPECT_EQ(*parse_option_tags("play.basic, play.scale"), (Strings{"play.basic", "play.scale"}));
    std::string many;
    for (std::size_t i = 0; i < k_max_list_items; ++i)
        many += "a,";
    EXPECT_TRUE(parse_token_list(many).ok());
    many += "b";
    EXPECT_FALSE(parse_token_list(many).ok());
    EXPECT_FALSE(parse_token_list(std::string(10000, ',')).ok());
}

TEST(TokenList, FormatsAndRoundTrips) {
    const Strings methods{"OPTIONS", "DESCRIBE", "PLAY"};
    EXPECT_EQ(format_token_list(methods), "OPTIONS, DESCRIBE, PLAY");
    EXPECT_EQ(*parse_method_list(format_token_list(methods)), methods);
    EXPECT_EQ(format_token_list(Strings{}), "");
    EXPECT_TRUE(contains_token(methods, "PLAY"));
    EXPECT_FALSE(contains_token(methods, "play"));  // methods are case-sensitive
}

TEST(ContentType, ParsesMediaTypes) {
    const auto sdp = parse_content_type("application/sdp");
    ASSERT_TRUE(sdp.ok());
    EXPECT_TRUE(sdp->is("application", "sdp"));
    EXPECT_TRUE(sdp->params.empty());

    const auto text = parse_content_type(R"(Text/Parameters ; charset="utf-8"; x=y)");
    ASSERT_TRUE(text.ok()) << text.error();
    EXPECT_EQ(text->type, "Text");
    EXPECT_TRUE(text->is("text", "parameters"));
    ASSERT_EQ(text->params.size(), 2u);
    ASSERT_NE(text->find_param("CHARSET"), nullptr);
    EXPECT_EQ(text->find_param("charset")->value, "utf-8");
    EXPECT_EQ(text->params[1], (MediaTypeParam{"x", "y"}));
    EXPECT_EQ(to_header_value(*text), "Text/Parameters; charset=utf-8; x=y");
    EXPECT_EQ(text->find_param("nope"), nullptr);
}

TEST(ContentType, RejectsGarbage) {
    for (const std::string_view bad : {"", "application", "application/", "/sdp", "a/b/c", "a b/c", "a/b; x",
                                       "a/b; x=", "a/b; =y", "a/b; x=\"y", "a/b; x=y z", "a/b; x=\"\r\n\""}) {
        EXPECT_FALSE(parse_content_type(bad).ok()) << bad;
    }
}

TEST(ContentType, RoundTripsQuotedValues) {
    ContentType ct{"multipart", "mixed", {{"boundary", "a b\"c"}, {"empty", ""}}};
    const std::string value = to_header_value(ct);
    EXPECT_EQ(value, R"(multipart/mixed; boundary="a b\"c"; empty="")");
    const auto back = parse_content_type(value);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, ct);
}

}  // namespace
}  // namespace sg::rtsp
