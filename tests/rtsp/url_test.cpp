#include "rtsp/url.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace sg::rtsp {
namespace {

struct ValidCase {
    std::string_view text;
    std::string_view scheme;
    std::string_view user;
    std::string_view password;
    std::string_view host;
    std::optional<std::uint16_t> port;
    std::string_view path;
    bool ipv6;
};

TEST(RtspUrl, ParsesValidUrls) {
    const ValidCase cases[] = {
        // RFC 2326 section 3.2 examples.
        {"rtsp://media.example.com:554/twister/audiotrack", "rtsp", "", "", "media.example.com", 554,
         "/twister/audiotrack", false},
        {"rtsp://media.example.com:554/twister", "rtsp", "", "", "media.example.com", 554, "/twister", false},
        {"rtsp://user:p%40ss@[2001:db8::1]:8554/live/cam?x=1", "rtsp", "user", "p@ss", "2001:db8::1", 8554,
         "/live/cam?x=1", true},
        {"RTSP://Example.COM/x", "rtsp", "", "", "Example.COM", std::nullopt, "/x", false},
        {"rtsps://cam.local/", "rtsps", "", "", "cam.local", std::nullopt, "/", false},
        {"rtspu://10.0.0.1", "rtspu", "", "", "10.0.0.1", std::nullopt, "", false},
        {"RtspT://h:8554", "rtspt", "", "", "h", 8554, "", false},
        {"rtsp://h:/x", "rtsp", "", "", "h", std::nullopt, "/x", false},
        {"rtsp://h?x=1", "rtsp", "", "", "h", std::nullopt, "?x=1", false},
        {"rtsp://h:00554/", "rtsp", "", "", "h", 554, "/", false},
        {"rtsp://h:65535/", "rtsp", "", "", "h", 65535, "/", false},
        // Cameras are commonly configured with a raw '@' in the password.
        {"rtsp://admin:p@ss@192.168.1.10/Streaming/Channels/101", "rtsp", "admin", "p@ss", "192.168.1.10",
         std::nullopt, "/Streaming/Channels/101", false},
        {"rtsp://admin@h/", "rtsp", "admin", "", "h", std::nullopt, "/", false},
        {"rtsp://:secret@h/", "rtsp", "", "secret", "h", std::nullopt, "/", false},
        {"rtsp://us%3Aer:a:b%20c@h/", "rtsp", "us:er", "a:b c", "h", std::nullopt, "/", false},
        {"rtsp://[::1]/", "rtsp", "", "", "::1", std::nullopt, "/", true},
        {"rtsp://[::ffff:192.0.2.1]:554/s", "rtsp", "", "", "::ffff:192.0.2.1", 554, "/s", true},
        {"rtsp://[FE80::1%25eth0]:8554/cam", "rtsp", "", "", "FE80::1%eth0", 8554, "/cam", true},
        {"rtsp://h/a%20b/;p=1?q#f", "rtsp", "", "", "h", std::nullopt, "/a%20b/;p=1?q#f", false},
    };
    for (const auto& c : cases) {
        const auto url = parse_url(c.text);
        ASSERT_TRUE(url.ok()) << c.text << ": " << url.error();
        EXPECT_EQ(url->scheme, c.scheme) << c.text;
        EXPECT_EQ(url->user, c.user) << c.text;
        EXPECT_EQ(url->password, c.password) << c.text;
        EXPECT_EQ(url->host, c.host) << c.text;
        EXPECT_EQ(url->port, c.port) << c.text;
        EXPECT_EQ(url->path, c.path) << c.text;
        EXPECT_EQ(url->is_ipv6(), c.ipv6) << c.text;
    }
}

TEST(RtspUrl, RejectsInvalidUrls) {
    const std::string_view cases[] = {
        "",
        "rtsp",
        "rtsp:/h/x",
        "http://h/",
        "rtspx://h/",
        "://h/",
        "rtsp://",
        "rtsp:///path",
        "rtsp://:554/",
        "rtsp://user@/",
        "rtsp://h:0/",
        "rtsp://h:65536/",
        "rtsp://h:12a/",
        "rtsp://h:-1/",
        "rtsp://h:1:2/",
        "rtsp://ho st/",
        "rtsp://h%41/",
        "rtsp://h!/",
        "rtsp://h/a b",
        "rtsp://h/a\tb",
        "rtsp://h/\x7f",
        "rtsp://u%zz@h/",
        "rtsp://u%4@h/",
        "rtsp://u:p%@h/",
        "rtsp://u s@h/",
        "rtsp://[::1/",
        "rtsp://[::1]x/",
        "rtsp://[::1]:x/",
        "rtsp://[]/",
        "rtsp://[h]/",
        "rtsp://[1:2:3]/",
        "rtsp://[fe80::1%eth0]/",
        "rtsp://[fe80::1%25]/",
        "rtsp://[fe80::1%25e:th0]/",
        "rtsp://[fe80::1%25eth%200]/",
        "rtsp://::1/",
    };
    for (const auto text : cases)
        EXPECT_FALSE(parse_url(text).ok()) << text;
}

TEST(RtspUrl, Ipv6LiteralForms) {
    const std::string_view valid[] = {
        "::",
        "::1",
        "1::",
        "1::8",
        "2001:db8::1",
        "2001:DB8:0:0:8:800:200C:417A",
        "1:2:3:4:5:6:7:8",
        "1:2:3:4:5:6::8",
        "::2:3:4:5:6:7:8",
        "1:2:3:4:5:6:1.2.3.4",
        "::1.2.3.4",
        "::ffff:255.255.255.255",
        "fe80::",
    };
    for (const auto address : valid) {
        EXPECT_TRUE(parse_url("rtsp://[" + std::string(address) + "]/").ok()) << address;
    }
    const std::string_view invalid[] = {
        ":",
        ":::",
        "1:2",
        ":1::2",
        "1::2:",
        "1:::2",
        "1::2::3",
        "12345::",
        "g::1",
        "1:2:3:4:5:6:7:8:9",
        "1:2:3:4:5:6:7::8",
        "1:2:3:4:5:6:7:1.2.3.4",
        "::1.2.3",
        "::1.2.3.4.5",
        "::256.1.1.1",
        "::01.1.1.1",
        "::1.2.3.4:5",
        "1.2.3.4",
        "::1.2..4",
    };
    for (const auto address : invalid) {
        EXPECT_FALSE(parse_url("rtsp://[" + std::string(address) + "]/").ok()) << address;
    }
}

TEST(RtspUrl, LengthLimit) {
    const std::string base = "rtsp://h/";
    EXPECT_TRUE(parse_url(base + std::string(k_max_url_length - base.size(), 'a')).ok());
    EXPECT_FALSE(parse_url(base + std::string(k_max_url_length - base.size() + 1, 'a')).ok());
}

TEST(RtspUrl, DefaultPorts) {
    EXPECT_EQ(parse_url("rtsp://h/")->default_port(), 554);
    EXPECT_EQ(parse_url("rtspu://h/")->default_port(), 554);
    EXPECT_EQ(parse_url("rtspt://h/")->default_port(), 554);
    EXPECT_EQ(parse_url("RTSPS://h/")->default_port(), 322);
    EXPECT_TRUE(parse_url("rtsps://h/")->is_tls());
    EXPECT_EQ(parse_url("rtsps://h/")->effective_port(), 322);
    EXPECT_EQ(parse_url("rtsps://h:8322/")->effective_port(), 8322);
}

TEST(RtspUrl, ToStringAndAuthority) {
    const auto url = parse_url("RTSP://user:p%40ss@[2001:db8::1]:8554/live/cam?x=1");
    ASSERT_TRUE(url.ok());
    EXPECT_EQ(to_string(*url), "rtsp://[2001:db8::1]:8554/live/cam?x=1");
    EXPECT_EQ(to_string(*url, true), "rtsp://user:p%40ss@[2001:db8::1]:8554/live/cam?x=1");
    EXPECT_EQ(authority(*url), "[2001:db8::1]:8554");

    const auto zoned = parse_url("rtsp://[fe80::1%25eth0]/s");
    ASSERT_TRUE(zoned.ok());
    EXPECT_EQ(to_string(*zoned), "rtsp://[fe80::1%25eth0]/s");
    EXPECT_EQ(authority(*zoned), "[fe80::1%25eth0]");

    const auto plain = parse_url("rtsp://cam.local");
    ASSERT_TRUE(plain.ok());
    EXPECT_EQ(to_string(*plain, true), "rtsp://cam.local");
    EXPECT_EQ(authority(*plain), "cam.local");

    Url built;
    built.scheme = "rtsp";
    built.user = "a@b:c";
    built.password = "x/y z%";
    built.host = "10.1.2.3";
    built.port = 8554;
    built.path = "/stream";
    EXPECT_EQ(to_string(built, true), "rtsp://a%40b%3Ac:x%2Fy%20z%25@10.1.2.3:8554/stream");
    const auto reparsed = parse_url(to_string(built, true));
    ASSERT_TRUE(reparsed.ok());
    EXPECT_EQ(*reparsed, built);
}

TEST(RtspUrl, RoundTripsThroughToString) {
    const std::string_view cases[] = {
        "rtsp://user:p%40ss@[2001:db8::1]:8554/live/cam?x=1",
        "rtsp://admin:p@ss@192.168.1.10/",
        "rtsps://h:/",
        "rtsp://[fe80::a%25en0]",
        "rtspt://:pw@h/x#y",
        "rtsp://us%3Aer%00@h",
    };
    for (const auto text : cases) {
        const auto url = parse_url(text);
        ASSERT_TRUE(url.ok()) << text;
        const auto again = parse_url(to_string(*url, true));
        ASSERT_TRUE(again.ok()) << text;
        EXPECT_EQ(*again, *url) << text;
        const auto anonymous = parse_url(to_string(*url));
        ASSERT_TRUE(anonymous.ok()) << text;
        EXPECT_TRUE(anonymous->user.empty());
        EXPECT_EQ(anonymous->host, url->host);
        EXPECT_EQ(anonymous->path, url->path);
    }
}

TEST(RtspUrl, ResolvesControlUrls) {
    struct Case {
        std::string_view base;
        std::string_view ref;
        std::string_view expected;
    };
    const Case cases[] = {
        // live555 / GStreamer: Content-Base ends in '/', a=control is relative.
        {"rtsp://h:8554/live/", "trackID=1", "rtsp://h:8554/live/trackID=1"},
        {"rtsp://h/live/cam", "trackID=1", "rtsp://h/live/trackID=1"},
        {"rtsp://h/live/cam", "*", "rtsp://h/live/cam"},
        {"rtsp://h/live/cam", "", "rtsp://h/live/cam"},
        {"rtsp://h/live/", "rtsp://other:554/x/trackID=2", "rtsp://other:554/x/trackID=2"},
        {"rtsp://h/live/", "RTSP://other/y", "RTSP://other/y"},
        {"rtsp://h:8554/a/b", "/x/y", "rtsp://h:8554/x/y"},
        {"rtsp://h", "track1", "rtsp://h/track1"},
        {"rtsp://h?q", "track1", "rtsp://h/track1"},
        {"rtsp://h/a/b/", "../c", "rtsp://h/a/c"},
        {"rtsp://h/a/b?x=1", "t", "rtsp://h/a/t"},
        {"rtsp://h/a/b?x=1", "?y=2", "rtsp://h/a/b?y=2"},
        {"rtsp://h/a", "//g/x", "rtsp://g/x"},
        {"rtsp://u:p@[::1]:554/s/", "trackID=0", "rtsp://u:p@[::1]:554/s/trackID=0"},
        {"rtsp://h/live/", "  trackID=3\t", "rtsp://h/live/trackID=3"},
        {"rtsp://h/live/", "stream=0?ch=1", "rtsp://h/live/stream=0?ch=1"},
        // RFC 3986 section 5.4.1 normal examples.
        {"http://a/b/c/d;p?q", "g:h", "g:h"},
        {"http://a/b/c/d;p?q", "g", "http://a/b/c/g"},
        {"http://a/b/c/d;p?q", "./g", "http://a/b/c/g"},
        {"http://a/b/c/d;p?q", "g/", "http://a/b/c/g/"},
        {"http://a/b/c/d;p?q", "/g", "http://a/g"},
        {"http://a/b/c/d;p?q", "//g", "http://g"},
        {"http://a/b/c/d;p?q", "?y", "http://a/b/c/d;p?y"},
        {"http://a/b/c/d;p?q", "g?y", "http://a/b/c/g?y"},
        {"http://a/b/c/d;p?q", "#s", "http://a/b/c/d;p?q#s"},
        {"http://a/b/c/d;p?q", "g#s", "http://a/b/c/g#s"},
        {"http://a/b/c/d;p?q", "g?y#s", "http://a/b/c/g?y#s"},
        {"http://a/b/c/d;p?q", ";x", "http://a/b/c/;x"},
        {"http://a/b/c/d;p?q", "g;x", "http://a/b/c/g;x"},
        {"http://a/b/c/d;p?q", "g;x?y#s", "http://a/b/c/g;x?y#s"},
        {"http://a/b/c/d;p?q", ".", "http://a/b/c/"},
        {"http://a/b/c/d;p?q", "./", "http://a/b/c/"},
        {"http://a/b/c/d;p?q", "..", "http://a/b/"},
        {"http://a/b/c/d;p?q", "../", "http://a/b/"},
        {"http://a/b/c/d;p?q", "../g", "http://a/b/g"},
        {"http://a/b/c/d;p?q", "../..", "http://a/"},
        {"http://a/b/c/d;p?q", "../../", "http://a/"},
        {"http://a/b/c/d;p?q", "../../g", "http://a/g"},
        // RFC 3986 section 5.4.2 abnormal examples.
        {"http://a/b/c/d;p?q", "../../../g", "http://a/g"},
        {"http://a/b/c/d;p?q", "../../../../g", "http://a/g"},
        {"http://a/b/c/d;p?q", "/./g", "http://a/g"},
        {"http://a/b/c/d;p?q", "/../g", "http://a/g"},
        {"http://a/b/c/d;p?q", "g.", "http://a/b/c/g."},
        {"http://a/b/c/d;p?q", ".g", "http://a/b/c/.g"},
        {"http://a/b/c/d;p?q", "g..", "http://a/b/c/g.."},
        {"http://a/b/c/d;p?q", "..g", "http://a/b/c/..g"},
        {"http://a/b/c/d;p?q", "./../g", "http://a/b/g"},
        {"http://a/b/c/d;p?q", "./g/.", "http://a/b/c/g/"},
        {"http://a/b/c/d;p?q", "g/./h", "http://a/b/c/g/h"},
        {"http://a/b/c/d;p?q", "g/../h", "http://a/b/c/h"},
        {"http://a/b/c/d;p?q", "g;x=1/./y", "http://a/b/c/g;x=1/y"},
        {"http://a/b/c/d;p?q", "g;x=1/../y", "http://a/b/c/y"},
        {"http://a/b/c/d;p?q", "g?y/./x", "http://a/b/c/g?y/./x"},
        {"http://a/b/c/d;p?q", "g#s/../x", "http://a/b/c/g#s/../x"},
        // No usable base.
        {"not a url", "trackID=1", ""},
        {"/relative/base", "trackID=1", ""},
        {"1rtsp://h/", "x", ""},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(resolve_reference(c.base, c.ref), c.expected) << c.base << " + " << c.ref;
    }
}

TEST(RtspUrl, ResolveLimitsLength) {
    const std::string base = "rtsp://h/" + std::string(4000, 'a') + "/";
    EXPECT_EQ(resolve_reference(base, std::string(86, 'b')).size(), k_max_url_length);
    EXPECT_EQ(resolve_reference(base, std::string(87, 'b')), "");
    EXPECT_EQ(resolve_reference(std::string(k_max_url_length + 1, 'a'), "*"), "");
}

}  // namespace
}  // namespace sg::rtsp
