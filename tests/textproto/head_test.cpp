// The head framer shared by HTTP/1.x and RTSP: one set of rules, with the two named differences.
#include "textproto/head.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace sg::textproto {
namespace {

TEST(NextLine, EndsAtCrlfOrBareLf) {
    const std::string_view in = "one\r\ntwo\nthree";
    const auto first = next_line(in, 0, 100, LoneCr::rejected);
    ASSERT_EQ(first.status, LineStatus::found);
    EXPECT_EQ(first.text, "one");
    const auto second = next_line(in, first.next, 100, LoneCr::rejected);
    ASSERT_EQ(second.status, LineStatus::found);
    EXPECT_EQ(second.text, "two");
    EXPECT_EQ(next_line(in, second.next, 100, LoneCr::rejected).status, LineStatus::need_more);
}

TEST(NextLine, ACrAtTheEndOfTheInputWaitsForItsLf) {
    EXPECT_EQ(next_line("abc\r", 0, 100, LoneCr::rejected).status, LineStatus::need_more);
    EXPECT_EQ(next_line("abc\r", 0, 100, LoneCr::ends_line).status, LineStatus::need_more);
}

TEST(NextLine, ALoneCrIsAnErrorOrALineEndAsTheRulesSay) {
    EXPECT_EQ(next_line("abc\rdef\r\n", 0, 100, LoneCr::rejected).status, LineStatus::bare_cr);
    const auto line = next_line("abc\rdef\r\n", 0, 100, LoneCr::ends_line);
    ASSERT_EQ(line.status, LineStatus::found);
    EXPECT_EQ(line.text, "abc");
    EXPECT_EQ(line.next, 4u);
}

TEST(NextLine, ControlCharactersButTabAreRefusedUnderBothRules) {
    for (const auto rule : {LoneCr::rejected, LoneCr::ends_line}) {
        EXPECT_EQ(next_line(std::string_view("a\0b\r\n", 5), 0, 100, rule).status, LineStatus::control_char);
        EXPECT_EQ(next_line("a\x1b[0m\r\n", 0, 100, rule).status, LineStatus::control_char);
        EXPECT_EQ(next_line("a\x7f\r\n", 0, 100, rule).status, LineStatus::control_char);
        EXPECT_EQ(next_line("a\tb\r\n", 0, 100, rule).status, LineStatus::found);
    }
    // Refused as it arrives, before the line is complete.
    EXPECT_EQ(next_line("\x16\x03\x01", 0, 100, LoneCr::ends_line).status, LineStatus::control_char);
}

TEST(NextLine, TooLongAsSoonAsTheLimitCannotBeMet) {
    EXPECT_EQ(next_line("abcdef", 0, 4, LoneCr::rejected).status, LineStatus::too_long);
    EXPECT_EQ(next_line("abcd", 0, 4, LoneCr::rejected).status, LineStatus::too_long);
    EXPECT_EQ(next_line("abc", 0, 4, LoneCr::rejected).status, LineStatus::need_more);
    EXPECT_EQ(next_line("abc\n", 0, 4, LoneCr::rejected).status, LineStatus::found);
    // A CR as the last byte waits for its LF only where the limit leaves room for it (found by fuzzing).
    EXPECT_EQ(next_line("abc\r", 0, 4, LoneCr::rejected).status, LineStatus::too_long);
    // Where a lone CR ends a line, it already did (found by fuzzing too).
    EXPECT_EQ(next_line("abc\r", 0, 4, LoneCr::ends_line).status, LineStatus::need_more);
}

FieldSection parse(std::string_view in, const Rules& rules, std::vector<Field>& fields,
                   std::size_t limit = 1000, std::size_t max_fields = 10) {
    return parse_fields(in, 0, limit, max_fields, rules, fields);
}

TEST(ParseFields, NamesAndTrimmedValuesInWireOrder) {
    std::vector<Field> fields;
    const auto section =
        parse("CSeq: 1\r\nX-Empty:\r\nSession:  abc ; timeout=60 \r\n\r\nbody", k_rtsp, fields);
    ASSERT_TRUE(section.done());
    EXPECT_EQ(section.end, 50u);
    EXPECT_EQ(fields, (std::vector<Field>{{"CSeq", "1"}, {"X-Empty", ""}, {"Session", "abc ; timeout=60"}}));
}

TEST(ParseFields, FoldingIsJoinedForRtspAndRefusedForHttp) {
    const std::string_view in = "Transport: RTP/AVP;unicast;\r\n client_port=5000-5001\r\n\r\n";
    std::vector<Field> rtsp;
    ASSERT_TRUE(parse(in, k_rtsp, rtsp).done());
    EXPECT_EQ(rtsp.at(0).value, "RTP/AVP;unicast; client_port=5000-5001");
    std::vector<Field> http;
    const auto refused = parse(in, k_http, http);
    ASSERT_TRUE(refused.failed());
    EXPECT_EQ(refused.error, FieldsError::obsolete_folding);
    std::vector<Field> first;
    EXPECT_EQ(parse(" x\r\n\r\n", k_rtsp, first).error, FieldsError::continuation_first);
}

TEST(ParseFields, MalformedLinesAreNamedErrors) {
    struct Case {
        std::string_view in;
        FieldsError error;
    };
    const Case cases[] = {
        {"NoColon\r\n\r\n", FieldsError::no_colon},   {"Host : x\r\n\r\n", FieldsError::invalid_name},
        {": x\r\n\r\n", FieldsError::invalid_name},   {"A: \x01\r\n\r\n", FieldsError::control_char},
        {"A: b\rC: d\r\n\r\n", FieldsError::bare_cr},
    };
    for (const auto& c : cases) {
        std::vector<Field> fields;
        const auto section = parse(c.in, k_http, fields);
        ASSERT_TRUE(section.failed()) << c.in;
        EXPECT_EQ(section.error, c.error) << c.in;
        EXPECT_FALSE(describe(section.error).empty());
    }
}

TEST(ParseFields, LimitsOnSizeAndCount) {
    std::vector<Field> fields;
    EXPECT_EQ(parse("A: 1\r\nB: 2\r\n\r\n", k_http, fields, 1000, 1).error, FieldsError::too_many);
    fields.clear();
    EXPECT_EQ(parse("A: 1234567890\r\n", k_http, fields, 10).error, FieldsError::too_large);
    fields.clear();
    EXPECT_EQ(parse("A: 1\r\n", k_http, fields, 10).status, ParseStatus::need_more);
}

TEST(ParseFields, EveryPrefixOfAValidSectionNeedsMore) {
    const std::string_view in = "CSeq: 2\r\nTransport: RTP/AVP\r\n\r\n";
    for (std::size_t cut = 0; cut < in.size(); ++cut) {
        std::vector<Field> fields;
        EXPECT_EQ(parse(in.substr(0, cut), k_rtsp, fields).status, ParseStatus::need_more) << cut;
    }
}

}  // namespace
}  // namespace sg::textproto
