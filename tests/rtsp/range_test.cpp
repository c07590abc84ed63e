#include "rtsp/range.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <optional>
#include <string>

namespace sg::rtsp {
namespace {

struct NptCase {
    std::string_view text;
    std::optional<NptTime> start;
    std::optional<NptTime> end;
};

TEST(Range, ParsesNpt) {
    const NptCase cases[] = {
        // RFC 2326 §3.6 and §12.29 examples.
        {"npt=123.45-125", NptTime::at(123.45), NptTime::at(125)},
        {"npt=12:05:35.3-", NptTime::at(12 * 3600 + 5 * 60 + 35.3), std::nullopt},
        {"npt=now-", NptTime::live_now(), std::nullopt},
        {"npt=0-", NptTime::at(0), std::nullopt},
        {"npt=0.000-", NptTime::at(0), std::nullopt},
        {"npt=0-34.4", NptTime::at(0), NptTime::at(34.4)},
        {"npt=-20", std::nullopt, NptTime::at(20)},  // RFC 7826 open start
        {"npt=1:02:03.5-", NptTime::at(3723.5), std::nullopt},
        {"npt=0:0:0-0:59:59.999", NptTime::at(0), NptTime::at(59 * 60.0 + 59.999)},
        {"npt=12.-", NptTime::at(12), std::nullopt},
        {"NPT = 5 - 7", NptTime::at(5), NptTime::at(7)},
        {"npt=10-now", NptTime::at(10), NptTime::live_now()},
        {"npt=999999999999-", NptTime::at(999999999999.0), std::nullopt},
        {"npt=99999999:59:59-", NptTime::at(99999999 * 3600.0 + 3599), std::nullopt},
    };
    for (const auto& c : cases) {
        const auto r = parse_range(c.text);
        ASSERT_TRUE(r.ok()) << c.text << ": " << r.error();
        ASSERT_NE(r->npt(), nullptr) << c.text;
        EXPECT_EQ(r->npt()->start, c.start) << c.text;
        EXPECT_EQ(r->npt()->end, c.end) << c.text;
        EXPECT_FALSE(r->time.has_value());
    }
}

TEST(Range, ParsesSmpte) {
    // RFC 2326 §3.5 examples.
    const auto a = parse_range("smpte=10:12:33:20-");
    ASSERT_TRUE(a.ok()) << a.error();
    ASSERT_NE(a->smpte(), nullptr);
    EXPECT_EQ(a->smpte()->type, SmpteType::smpte_30);
    EXPECT_EQ(a->smpte()->start, (SmpteTime{10, 12, 33, 20, std::nullopt}));
    EXPECT_FALSE(a->smpte()->end.has_value());

    const auto b = parse_range("smpte=10:07:33-");
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(b->smpte()->start, (SmpteTime{10, 7, 33, std::nullopt, std::nullopt}));

    const auto c = parse_range("smpte=10:07:00-10:07:33:05.01");
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->smpte()->start, (SmpteTime{10, 7, 0, std::nullopt, std::nullopt}));
    EXPECT_EQ(c->smpte()->end, (SmpteTime{10, 7, 33, 5, 1}));

    const auto d = parse_range("smpte-25=00:00:01:24-");
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->smpte()->type, SmpteType::smpte_25);
    const auto e = parse_range("smpte-30-drop=1:2:3.4-");
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(e->smpte()->type, SmpteType::smpte_30_drop);
    EXPECT_EQ(e->smpte()->start, (SmpteTime{1, 2, 3, std::nullopt, 4}));
}

TEST(Range, ParsesClockAndTime) {
    // RFC 2326 §12.29 example.
    const auto r = parse_range("clock=19961108T142300Z-19961108T143520Z");
    ASSERT_TRUE(r.ok()) << r.error();
    ASSERT_NE(r->clock(), nullptr);
    EXPECT_EQ(r->clock()->start, (UtcTime{1996, 11, 8, 14, 23, 0, ""}));
    EXPECT_EQ(r->clock()->end, (UtcTime{1996, 11, 8, 14, 35, 20, ""}));

    // RFC 2326 §12.29: "clock=19960213T143205Z-;time=19970123T143720Z".
    const auto t = parse_range("clock=19960213T143205Z-;time=19970123T143720Z");
    ASSERT_TRUE(t.ok()) << t.error();
    EXPECT_EQ(t->clock()->start, (UtcTime{1996, 2, 13, 14, 32, 5, ""}));
    EXPECT_FALSE(t->clock()->end.has_value());
    EXPECT_EQ(t->time, (UtcTime{1997, 1, 23, 14, 37, 20, ""}));

    const auto f = parse_range("clock=20240101T000000.25Z-20240101T000001.123456789Z");
    ASSERT_TRUE(f.ok()) << f.error();
    EXPECT_EQ(f->clock()->start->fraction, "25");
    EXPECT_EQ(f->clock()->end->fraction, "123456789");

    const auto n = parse_range("npt=0-; time=20161231T235960Z");
    ASSERT_TRUE(n.ok()) << n.error();
    EXPECT_EQ(n->time->second, 60);
}

TEST(Range, RejectsBadValues) {
    const std::string_view bad[] = {
        "",
        "npt",
        "npt=",
        "npt=-",
        "npt=5",
        "npt=a-",
        "npt=-5-",
        "npt=1-2-3",
        "npt=.5-",
        "npt=+5-",
        "npt=1e5-",
        "npt=inf-",
        "npt=nan-",
        "npt=0x10-",
        "npt=1000000000000-",                        // 13 integer digits
        "npt=1.000000000000000000000000000000001-",  // 33 fraction digits
        "npt=1:60:00-",
        "npt=1:00:60-",
        "npt=1:00:59.-x",
        "npt=::-",
        "npt=1:2-",
        "npt=1:2:3:4-",
        "npt=123456789:00:00-",
        "npt=-now-",
        "npt=0-;time=now",
        "npt=0-;foo=bar",
        "npt=0-;time=19970123T143720Z;time=19970123T143720Z",
        "npt=0-;time=19970123T143720Z;a;b;c",
        "foo=0-",
        "smpte=10:07-",
        "smpte=10:07:00:30-",
        "smpte-25=10:07:00:25-",
        "smpte=10:60:00-",
        "smpte=100:00:00-",
        "smpte=10:07:00:-",
        "smpte=10:07:00.-",
        "smpte=10:07:00.100-",
        "smpte-24=10:07:00-",
        "clock=19961108T142300-",
        "clock=19961108142300Z-",
        "clock=1996110T142300Z-",
        "clock=19961308T142300Z-",
        "clock=19961100T142300Z-",
        "clock=19961108T242300Z-",
        "clock=19961108T142300.Z-",
        "clock=19961108T142300.1234567890Z-",
        "clock=19961108T1423000Z-",
        "npt=\"0\"-",
        "npt=0-\r\n",
    };
    for (const auto text : bad)
        EXPECT_FALSE(parse_range(text).ok()) << text;
    EXPECT_FALSE(parse_range("npt=0-" + std::string(600, ' ')).ok());
}

TEST(Range, FormatsCanonicalValues) {
    struct FormatCase {
        std::string_view in;
        std::string_view out;
    };
    const FormatCase cases[] = {
        {"npt=0-", "npt=0-"},
        {"npt=0.000-", "npt=0-"},
        {"npt=123.45-125", "npt=123.45-125"},
        {"npt=now-", "npt=now-"},
        {"npt=-20", "npt=-20"},
        {"npt=1:02:03.5-", "npt=3723.5-"},
        {"smpte=10:7:33:5.1-", "smpte=10:07:33:05.01-"},
        {"smpte-30-drop=10:07:33-10:08:00", "smpte-30-drop=10:07:33-10:08:00"},
        {"clock=19961108t142300z-19961108T143520.5Z", "clock=19961108T142300Z-19961108T143520.5Z"},
        {"npt=0-;time=19970123T143720Z", "npt=0-;time=19970123T143720Z"},
    };
    for (const auto& c : cases) {
        const auto r = parse_range(c.in);
        ASSERT_TRUE(r.ok()) << c.in;
        EXPECT_EQ(to_header_value(*r), c.out);
    }
}

TEST(Range, RoundTripsTrickyNumbers) {
    for (const std::string_view text :
         {"npt=0.1-0.2", "npt=1:00:00.123456789-", "npt=0.00000000000000000000000000000001-",
          "npt=999999999999-", "npt=99999999:59:59.99999999999999999-", "npt=3.14159265358979323846-",
          "npt=0:00:00.1-", "npt=12.000000000000000000000000000001-"}) {
        const auto r = parse_range(text);
        ASSERT_TRUE(r.ok()) << text;
        const std::string formatted = to_header_value(*r);
        const auto back = parse_range(formatted);
        ASSERT_TRUE(back.ok()) << text << " -> " << formatted;
        EXPECT_EQ(*back, *r) << text << " -> " << formatted;
    }
}

TEST(Range, FormatterClampsInvalidNumbers) {
    EXPECT_EQ(format_npt_time(NptTime::at(-1)), "0");
    EXPECT_EQ(format_npt_time(NptTime::at(std::numeric_limits<double>::quiet_NaN())), "0");
    EXPECT_EQ(format_npt_time(NptTime::at(1e300)), "999999999999");
    EXPECT_EQ(format_npt_time(NptTime::at(2.5)), "2.5");
    EXPECT_EQ(format_utc_time(UtcTime{2024, 2, 29, 23, 59, 59, "5"}), "20240229T235959.5Z");
    EXPECT_EQ(to_header_value(Range{NptRange{NptTime::at(10), std::nullopt}, std::nullopt}), "npt=10-");
}

TEST(Range, EveryPrefixFailsOrRoundTrips) {
    for (const std::string full :
         {"npt=1:02:03.5-34.25", "clock=19961108T142300Z-19961108T143520.25Z;time=19970123T143720Z",
          "smpte-25=10:07:00:24.99-"}) {
        std::size_t parsed = 0;
        for (std::size_t n = 0; n <= full.size(); ++n) {
            const auto r = parse_range(full.substr(0, n));
            if (!r.ok()) continue;
            ++parsed;
            const auto back = parse_range(to_header_value(*r));
            ASSERT_TRUE(back.ok()) << full.substr(0, n);
            EXPECT_EQ(*back, *r) << full.substr(0, n);
        }
        EXPECT_GE(parsed, 1u) << full;
    }
}

}  // namespace
}  // namespace sg::rtsp
