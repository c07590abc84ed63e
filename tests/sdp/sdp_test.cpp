#include "sdp/sdp.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "sdp_samples.hpp"

namespace sg::sdp {
namespace {

using samples::crlf;

SessionDescription parse_ok(std::string_view text) {
    auto r = parse(text);
    EXPECT_TRUE(r.ok()) << r.error() << "\n" << text;
    return r.ok() ? std::move(r).value() : SessionDescription{};
}

// The smallest description the parser accepts, with `body` appended.
std::string minimal(std::string_view body) {
    return crlf("v=0\no=- 1 1 IN IP4 10.0.0.1\ns=x\nt=0 0\n") + std::string(body);
}

TEST(SdpParse, Rfc4566ExampleFields) {
    const auto sd = parse_ok(crlf(samples::k_rfc4566));
    EXPECT_EQ(sd.version, 0u);
    EXPECT_EQ(sd.origin, (Origin{"jdoe", "2890844526", "2890842807", "IN", "IP4", "10.47.16.5"}));
    EXPECT_EQ(sd.session_name, "SDP Seminar");
    EXPECT_EQ(sd.information, "A Seminar on the session description protocol");
    EXPECT_EQ(sd.uri, "http://www.example.com/seminars/sdp.pdf");
    ASSERT_EQ(sd.emails.size(), 1u);
    EXPECT_EQ(sd.emails[0], "j.doe@example.com (Jane Doe)");
    EXPECT_TRUE(sd.phones.empty());
    EXPECT_EQ(sd.connection, (Connection{"IN", "IP4", "224.2.17.12", 127, std::nullopt}));
    ASSERT_EQ(sd.timings.size(), 1u);
    EXPECT_EQ(sd.timings[0].start, 2873397496u);
    EXPECT_EQ(sd.timings[0].stop, 2873404696u);
    ASSERT_EQ(sd.attributes.size(), 1u);
    EXPECT_EQ(sd.attributes[0], (Attribute{"recvonly", std::nullopt}));
    EXPECT_TRUE(sd.extra_lines.empty());

    ASSERT_EQ(sd.media.size(), 2u);
    const auto& audio = sd.media[0];
    EXPECT_EQ(audio.media, "audio");
    EXPECT_EQ(audio.port, 49170);
    EXPECT_EQ(audio.port_count, std::nullopt);
    EXPECT_EQ(audio.proto, "RTP/AVP");
    EXPECT_EQ(audio.formats, (std::vector<std::string>{"0"}));
    EXPECT_TRUE(audio.attributes.empty());
    const auto& video = sd.media[1];
    EXPECT_EQ(video.port, 51372);
    EXPECT_EQ(video.formats, (std::vector<std::string>{"99"}));
    ASSERT_EQ(video.attributes.size(), 1u);
    EXPECT_EQ(video.attributes[0], (Attribute{"rtpmap", "99 h263-1998/90000"}));
}

TEST(SdpParse, Ipv6VariantHasAddressCountNotTtl) {
    const auto sd = parse_ok(crlf(samples::k_rfc4566_ipv6));
    EXPECT_EQ(sd.origin.addrtype, "IP6");
    EXPECT_EQ(sd.origin.address, "2001:db8::10:47:16:5");
    EXPECT_EQ(sd.connection, (Connection{"IN", "IP6", "FF15::101", std::nullopt, 3}));
}

struct Sample {
    const char* name;
    std::string_view lf_text;
};

const Sample k_samples[] = {
    {"rfc4566", samples::k_rfc4566}, {"rfc4566_ipv6", samples::k_rfc4566_ipv6},
    {"live555", samples::k_live555}, {"gstreamer", samples::k_gstreamer},
    {"ffmpeg", samples::k_ffmpeg},   {"camera", samples::k_camera},
    {"gb28181", samples::k_gb28181},
};

TEST(SdpRoundTrip, CanonicalTextIsReproducedByteForByte) {
    for (const auto& s : k_samples) {
        const std::string text = crlf(s.lf_text);
        const auto sd = parse_ok(text);
        EXPECT_EQ(to_string(sd), text) << s.name;
        EXPECT_EQ(parse_ok(to_string(sd)), sd) << s.name;
    }
}

TEST(SdpRoundTrip, BareLfParsesLikeCrlfAndIsWrittenWithCrlf) {
    for (const auto& s : k_samples) {
        const auto from_lf = parse_ok(s.lf_text);
        EXPECT_EQ(from_lf, parse_ok(crlf(s.lf_text))) << s.name;
        EXPECT_EQ(to_string(from_lf), crlf(s.lf_text)) << s.name;
    }
}

TEST(SdpRoundTrip, EveryPrefixParsesOrFailsAndRoundTrips) {
    // Truncation at every byte: never a crash, and whatever parses must round-trip.
    for (const auto& s : k_samples) {
        const std::string text = crlf(s.lf_text);
        std::size_t accepted = 0;
        for (std::size_t n = 0; n <= text.size(); ++n) {
            const auto r = parse(std::string_view(text).substr(0, n));
            if (!r) continue;
            ++accepted;
            const auto again = parse(to_string(*r));
            ASSERT_TRUE(again.ok()) << s.name << " prefix " << n;
            EXPECT_EQ(*again, *r) << s.name << " prefix " << n;
        }
        EXPECT_GT(accepted, 0u) << s.name;
    }
}

TEST(SdpParse, GbT28181LettersAreKeptInOrder) {
    const auto sd = parse_ok(crlf(samples::k_gb28181));
    ASSERT_EQ(sd.media.size(), 1u);
    EXPECT_EQ(sd.media[0].extra_lines, (std::vector<ExtraLine>{{'y', "0100000001"}, {'f', "v/2/4///a///"}}));
}

TEST(SdpParse, AttributeValuesKeepColonsAndSpaces) {
    const auto sd =
        parse_ok(minimal("a=control:rtsp://10.0.0.1:554/live?a=b\r\n"
                         "a=tool:libavformat 60.16.100\r\n"
                         "a=empty:\r\n"
                         "a=recvonly\r\n"));
    EXPECT_EQ(sd.attributes, (std::vector<Attribute>{{"control", "rtsp://10.0.0.1:554/live?a=b"},
                                                     {"tool", "libavformat 60.16.100"},
                                                     {"empty", ""},
                                                     {"recvonly", std::nullopt}}));
}

struct ConnectionCase {
    std::string_view line;  // the c= value
    std::optional<Connection> expected;
};

TEST(SdpParse, ConnectionForms) {
    const ConnectionCase cases[] = {
        {"IN IP4 10.0.0.1", Connection{"IN", "IP4", "10.0.0.1", std::nullopt, std::nullopt}},
        {"IN IP4 224.2.36.42/127", Connection{"IN", "IP4", "224.2.36.42", 127, std::nullopt}},
        {"IN IP4 224.2.1.1/127/3", Connection{"IN", "IP4", "224.2.1.1", 127, 3}},
        {"IN IP6 FF15::101/3", Connection{"IN", "IP6", "FF15::101", std::nullopt, 3}},
        {"IN IP6 ::1", Connection{"IN", "IP6", "::1", std::nullopt, std::nullopt}},
        {"IN IP4 host.example.com", Connection{"IN", "IP4", "host.example.com", std::nullopt, std::nullopt}},
        {"IN IP6 FF15::101/3/2", std::nullopt},
        {"IN IP4 224.2.1.1/", std::nullopt},
        {"IN IP4 224.2.1.1//3", std::nullopt},
        {"IN IP4 224.2.1.1/127/", std::nullopt},
        {"IN IP4 224.2.1.1/1/2/3", std::nullopt},
        {"IN IP4 224.2.1.1/x", std::nullopt},
        {"IN IP4 224.2.1.1/-1", std::nullopt},
        {"IN IP4 224.2.1.1/99999999999", std::nullopt},
        {"IN IP4 /127", std::nullopt},
        {"IN IP4", std::nullopt},
        {"IN IP4 1.2.3.4 5", std::nullopt},
        {"", std::nullopt},
    };
    for (const auto& c : cases) {
        const std::string text =
            crlf("v=0\no=- 1 1 IN IP4 10.0.0.1\ns=x\nc=" + std::string(c.line) + "\nt=0 0\n");
        const auto session = parse(text);
        const auto media = parse(minimal("m=video 0 RTP/AVP 96\r\nc=" + std::string(c.line) + "\r\n"));
        if (!c.expected) {
            EXPECT_FALSE(session.ok()) << c.line;
            EXPECT_FALSE(media.ok()) << c.line;
            continue;
        }
        ASSERT_TRUE(session.ok()) << c.line << ": " << session.error();
        EXPECT_EQ(session->connection, c.expected) << c.line;
        EXPECT_EQ(to_string(*session), text) << c.line;
        ASSERT_TRUE(media.ok()) << c.line;
        ASSERT_EQ(media->media.size(), 1u);
        EXPECT_EQ(media->media[0].connections, (std::vector<Connection>{*c.expected})) << c.line;
    }
}

TEST(SdpParse, MediaSectionFields) {
    const auto sd =
        parse_ok(minimal("m=video 49170/2 RTP/AVP 31 32\r\n"
                         "i=camera 1\r\n"
                         "c=IN IP4 224.2.1.1/127\r\n"
                         "c=IN IP4 224.2.1.2/127\r\n"
                         "b=AS:2000\r\n"
                         "k=prompt\r\n"
                         "a=sendonly\r\n"
                         "m=application 9 TCP/BFCP *\r\n"));
    ASSERT_EQ(sd.media.size(), 2u);
    const auto& m = sd.media[0];
    EXPECT_EQ(m.port, 49170);
    EXPECT_EQ(m.port_count, 2);
    EXPECT_EQ(m.formats, (std::vector<std::string>{"31", "32"}));
    EXPECT_EQ(m.information, "camera 1");
    EXPECT_EQ(m.connections.size(), 2u);
    EXPECT_EQ(m.bandwidths, (std::vector<Bandwidth>{{"AS", 2000}}));
    EXPECT_EQ(m.key, "prompt");
    EXPECT_EQ(sd.media[1].proto, "TCP/BFCP");
    EXPECT_EQ(sd.media[1].formats, (std::vector<std::string>{"*"}));
}

TEST(SdpParse, SessionTimingRepeatsAndZones) {
    // RFC 4566 §5.10 and §5.11 examples.
    const std::string text = crlf(
        "v=0\n"
        "o=- 1 1 IN IP4 10.0.0.1\n"
        "s=x\n"
        "p=+1 617 555-6011\n"
        "b=CT:128\n"
        "t=3034423619 3042462419\n"
        "r=604800 3600 0 90000\n"
        "r=7d 1h 0 25h\n"
        "t=0 0\n"
        "z=2882844526 -1h 2898848070 0\n"
        "k=clear:secret\n");
    const auto sd = parse_ok(text);
    EXPECT_EQ(sd.phones, (std::vector<std::string>{"+1 617 555-6011"}));
    EXPECT_EQ(sd.bandwidths, (std::vector<Bandwidth>{{"CT", 128}}));
    ASSERT_EQ(sd.timings.size(), 2u);
    EXPECT_EQ(sd.timings[0].repeats, (std::vector<std::string>{"604800 3600 0 90000", "7d 1h 0 25h"}));
    EXPECT_TRUE(sd.timings[1].repeats.empty());
    EXPECT_EQ(sd.time_zones, (std::vector<std::string>{"2882844526 -1h 2898848070 0"}));
    EXPECT_EQ(sd.key, "clear:secret");
    EXPECT_EQ(to_string(sd), text);
}

TEST(SdpLenient, MissingSessionNameAndTimingFromCameras) {
    const auto sd = parse_ok(
        "v=0\n"
        "o=- 1 1 IN IP4 10.0.0.1\n"
        "m=video 0 RTP/AVP 96\n"
        "a=rtpmap:96 H264/90000\n");
    EXPECT_EQ(sd.session_name, " ");  // RFC 4566 §5.3's value for "no name"
    EXPECT_TRUE(sd.timings.empty());
    EXPECT_EQ(to_string(sd), crlf("v=0\n"
                                  "o=- 1 1 IN IP4 10.0.0.1\n"
                                  "s= \n"
                                  "m=video 0 RTP/AVP 96\n"
                                  "a=rtpmap:96 H264/90000\n"));
}

TEST(SdpLenient, SingleSpaceSessionNameSurvives) {
    const std::string text = crlf("v=0\no=- 1 1 IN IP4 10.0.0.1\ns= \nt=0 0\n");
    EXPECT_EQ(parse_ok(text).session_name, " ");
    EXPECT_EQ(to_string(parse_ok(text)), text);
}

TEST(SdpLenient, SloppySpacingEmptyLinesAndMissingFinalNewline) {
    const auto sd = parse_ok(
        "\r\n"
        "v=0 \r\n"
        "o=-  1\t1 IN IP4 10.0.0.1  \r\n"
        "s=x\r\n"
        "\r\n"
        "c=IN  IP4 10.0.0.1 \r\n"
        "t=0  0 \r\n"
        "a=recvonly \r\n"
        "  \r\n"
        "m=video  0  RTP/AVP  96 \r\n"
        "b=AS : 500 \r\n"
        "a=control:track1 \r\n"
        "a=rtpmap:96 H264/90000");
    EXPECT_EQ(to_string(sd), crlf("v=0\n"
                                  "o=- 1 1 IN IP4 10.0.0.1\n"
                                  "s=x\n"
                                  "c=IN IP4 10.0.0.1\n"
                                  "t=0 0\n"
                                  "a=recvonly\n"
                                  "m=video 0 RTP/AVP 96\n"
                                  "b=AS:500\n"
                                  "a=control:track1\n"
                                  "a=rtpmap:96 H264/90000\n"));
}

TEST(SdpLenient, OutOfOrderFieldsAreWrittenInRfcOrder) {
    const auto sd =
        parse_ok(crlf("v=0\n"
                      "a=tool:cam\n"
                      "t=0 0\n"
                      "s=x\n"
                      "o=- 1 1 IN IP4 10.0.0.1\n"
                      "c=IN IP4 10.0.0.1\n"
                      "m=video 0 RTP/AVP 96\n"
                      "a=rtpmap:96 H264/90000\n"
                      "c=IN IP4 0.0.0.0\n"
                      "b=AS:500\n"));
    EXPECT_EQ(to_string(sd), crlf("v=0\n"
                                  "o=- 1 1 IN IP4 10.0.0.1\n"
                                  "s=x\n"
                                  "c=IN IP4 10.0.0.1\n"
                                  "t=0 0\n"
                                  "a=tool:cam\n"
                                  "m=video 0 RTP/AVP 96\n"
                                  "c=IN IP4 0.0.0.0\n"
                                  "b=AS:500\n"
                                  "a=rtpmap:96 H264/90000\n"));
}

TEST(SdpLenient, RepeatedAndMisplacedLinesAreKeptAsExtras) {
    const std::string text = minimal(
        "i=first\r\n"
        "x=unknown\r\n"
        "s=second name\r\n"
        "i=second\r\n"
        "m=audio 0 RTP/AVP 0\r\n"
        "i=one\r\n"
        "i=two\r\n"
        "t=0 0\r\n"
        "u=http://example.com/\r\n");
    const auto sd = parse_ok(text);
    EXPECT_EQ(sd.session_name, "x");
    EXPECT_EQ(sd.information, "first");
    EXPECT_EQ(sd.extra_lines,
              (std::vector<ExtraLine>{{'x', "unknown"}, {'s', "second name"}, {'i', "second"}}));
    ASSERT_EQ(sd.media.size(), 1u);
    EXPECT_EQ(sd.media[0].information, "one");
    EXPECT_EQ(sd.media[0].extra_lines,
              (std::vector<ExtraLine>{{'i', "two"}, {'t', "0 0"}, {'u', "http://example.com/"}}));
    EXPECT_EQ(parse_ok(to_string(sd)), sd);
}

TEST(SdpParse, NumbersAreNormalized) {
    const auto sd = parse_ok(minimal("m=video 0080/02 RTP/AVP 96\r\nb=AS:0500\r\n"));
    EXPECT_EQ(sd.media[0].port, 80);
    EXPECT_EQ(sd.media[0].port_count, 2);
    EXPECT_EQ(to_string(sd), minimal("m=video 80/2 RTP/AVP 96\r\nb=AS:500\r\n"));
}

struct ErrorCase {
    const char* why;
    std::string text;
};

TEST(SdpErrors, MalformedDescriptionsAreRejected) {
    const std::string o = "o=- 1 1 IN IP4 10.0.0.1\r\n";
    const ErrorCase cases[] = {
        {"empty", ""},
        {"only line ends", "\r\n\n\r\n"},
        {"no v=", o + "s=x\r\n"},
        {"v= not first", "s=x\r\nv=0\r\n" + o},
        {"v= not a number", "v=zero\r\n" + o},
        {"negative v=", "v=-1\r\n" + o},
        {"second v=", "v=0\r\n" + o + "v=0\r\n"},
        {"no o=", "v=0\r\ns=x\r\nt=0 0\r\n"},
        {"o= with five fields", "v=0\r\no=1 1 IN IP4 10.0.0.1\r\n"},
        {"empty o=", "v=0\r\no=\r\n"},
        {"second o=", "v=0\r\n" + o + o},
        {"o= in media", "v=0\r\n" + o + "m=video 0 RTP/AVP 96\r\n" + o},
        {"second session c=", minimal("c=IN IP4 1.1.1.1\r\nc=IN IP4 2.2.2.2\r\n")},
        {"m= without proto", minimal("m=video 0\r\n")},
        {"m= port too big", minimal("m=video 65536 RTP/AVP 96\r\n")},
        {"m= port not a number", minimal("m=video x RTP/AVP 96\r\n")},
        {"m= bad port count", minimal("m=video 0/x RTP/AVP 96\r\n")},
        {"m= empty port count", minimal("m=video 0/ RTP/AVP 96\r\n")},
        {"t= one time", minimal("t=0\r\n")},
        {"t= three times", minimal("t=0 0 0\r\n")},
        {"t= not numbers", minimal("t=now later\r\n")},
        {"b= without colon", minimal("b=AS500\r\n")},
        {"b= not a number", minimal("b=AS:fast\r\n")},
        {"b= empty type", minimal("b=:500\r\n")},
        {"b= in media not a number", minimal("m=video 0 RTP/AVP 96\r\nb=AS:\r\n")},
        {"r= before t=", "v=0\r\n" + o + "s=x\r\nr=7d 1h 0 25h\r\n"},
        {"uppercase letter", "V=0\r\n" + o},
        {"uppercase letter later", minimal("A=recvonly\r\n")},
        {"no equals sign", minimal("a:recvonly\r\n")},
        {"letter only", minimal("a\r\n")},
        {"leading space", minimal(" a=recvonly\r\n")},
        {"two-letter type", minimal("ab=1\r\n")},
        {"CR inside a line", minimal("a=x\ry\r\n")},
        {"double CR", minimal("a=x\r\r\n")},
        {"NUL inside a line", minimal(std::string("a=x\0y\r\n", 7))},
        {"binary garbage", "\xff\xfe\x00\x01"},
    };
    for (const auto& c : cases) {
        const auto r = parse(c.text);
        EXPECT_FALSE(r.ok()) << c.why;
        if (!r.ok()) {
            EXPECT_FALSE(r.error().empty()) << c.why;
        }
    }
}

TEST(SdpLimits, TotalSize) {
    std::string text = minimal("");
    const std::string line = "y=" + std::string(100, 'p') + "\r\n";
    while (text.size() + line.size() <= k_max_size)
        text += line;
    text.resize(k_max_size, '\n');  // empty lines do not count, bytes do
    EXPECT_TRUE(parse(text).ok());
    text += '\n';
    EXPECT_FALSE(parse(text).ok());
}

TEST(SdpLimits, LineCount) {
    // Use extra lines so the attribute limit is not what trips.
    std::string text = minimal("");
    for (std::size_t i = 4; i < k_max_lines; ++i)
        text += "y=\r\n";
    EXPECT_TRUE(parse(text).ok());
    text += "y=\r\n";
    const auto r = parse(text);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), "too many SDP lines");
}

TEST(SdpLimits, MediaSections) {
    std::string text = minimal("");
    for (std::size_t i = 0; i < k_max_media; ++i)
        text += "m=audio 0 RTP/AVP 0\r\n";
    EXPECT_EQ(parse_ok(text).media.size(), k_max_media);
    text += "m=audio 0 RTP/AVP 0\r\n";
    EXPECT_FALSE(parse(text).ok());
}

TEST(SdpLimits, AttributesPerSection) {
    std::string attributes;
    for (std::size_t i = 0; i < k_max_attributes; ++i)
        attributes += "a=x\r\n";
    EXPECT_TRUE(parse(minimal(attributes)).ok());
    EXPECT_TRUE(parse(minimal(attributes + "m=video 0 RTP/AVP 96\r\n" + attributes)).ok());
    EXPECT_FALSE(parse(minimal(attributes + "a=x\r\n")).ok());
    EXPECT_FALSE(parse(minimal("m=video 0 RTP/AVP 96\r\n" + attributes + "a=x\r\n")).ok());
}

TEST(SdpLimits, FormatsPerMediaLine) {
    std::string formats;
    for (std::size_t i = 0; i < k_max_formats; ++i)
        formats += " 96";
    EXPECT_EQ(parse_ok(minimal("m=video 0 RTP/AVP" + formats + "\r\n")).media[0].formats.size(),
              k_max_formats);
    EXPECT_FALSE(parse(minimal("m=video 0 RTP/AVP" + formats + " 97\r\n")).ok());
}

TEST(SdpWrite, BuiltDescriptionIsCanonical) {
    SessionDescription sd;
    sd.origin = Origin{"-", "42", "1", "IN", "IP6", "2001:db8::1"};
    sd.session_name = "gateway";
    sd.connection = Connection{"IN", "IP6", "2001:db8::1", std::nullopt, std::nullopt};
    sd.timings.push_back(Timing{0, 0, {}});
    sd.attributes.push_back(Attribute{"control", "*"});
    MediaDescription m;
    m.media = "video";
    m.proto = "RTP/AVP";
    m.formats = {"96"};
    m.attributes = {{"rtpmap", "96 H264/90000"}, {"control", "trackID=1"}};
    sd.media.push_back(m);
    const std::string text = to_string(sd);
    EXPECT_EQ(text, crlf("v=0\n"
                         "o=- 42 1 IN IP6 2001:db8::1\n"
                         "s=gateway\n"
                         "c=IN IP6 2001:db8::1\n"
                         "t=0 0\n"
                         "a=control:*\n"
                         "m=video 0 RTP/AVP 96\n"
                         "a=rtpmap:96 H264/90000\n"
                         "a=control:trackID=1\n"));
    EXPECT_EQ(parse_ok(text), sd);
}

}  // namespace
}  // namespace sg::sdp
