#include "rtsp/auth.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sg::rtsp {
namespace {

// RFC 2617 §3.5.
constexpr std::string_view k_rfc_challenge =
    R"(Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", )"
    R"(opaque="5ccc069c403ebaf9f0171e9517f40e41")";
constexpr std::string_view k_rfc_authorization =
    R"(Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", )"
    R"(uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", )"
    R"(response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41")";

DigestCredentials rfc_credentials() {
    const auto a = parse_authorization(k_rfc_authorization);
    EXPECT_TRUE(a.ok()) << a.error();
    return std::get<DigestCredentials>(*a);
}

struct Base64Case {
    std::string_view plain;
    std::string_view encoded;
};

TEST(Base64, Rfc4648Vectors) {
    // RFC 4648 §10 test vectors.
    const Base64Case cases[] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
        {std::string_view("\0\xff\xfe", 3), "AP/+"},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(base64_encode(c.plain), c.encoded);
        const auto decoded = base64_decode(c.encoded);
        ASSERT_TRUE(decoded.ok()) << c.encoded;
        EXPECT_EQ(*decoded, c.plain);
    }
}

TEST(Base64, RejectsNonCanonicalInput) {
    for (const std::string_view bad : {"Zg=", "Zg", "Zh==", "Zm9=", "Z===", "====", "Zg==Zg==", "Zm 9v",
                                       "Zm9v\n", "Zm-v", "Zm9v=", "=Zm9"}) {
        EXPECT_FALSE(base64_decode(bad).ok()) << bad;
    }
}

TEST(Basic, Rfc2617Example) {
    const BasicCredentials aladdin{"Aladdin", "open sesame"};
    EXPECT_EQ(to_header_value(aladdin), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    const auto parsed = parse_authorization("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    ASSERT_TRUE(parsed.ok()) << parsed.error();
    ASSERT_TRUE(std::holds_alternative<BasicCredentials>(*parsed));
    EXPECT_EQ(std::get<BasicCredentials>(*parsed), aladdin);
    EXPECT_TRUE(verify_basic(aladdin, "Aladdin", "open sesame"));
    EXPECT_FALSE(verify_basic(aladdin, "Aladdin", "open sesamE"));
    EXPECT_FALSE(verify_basic(aladdin, "aladdin", "open sesame"));
    EXPECT_FALSE(verify_basic(aladdin, "Aladdin", "open"));
    EXPECT_TRUE(verify_basic(BasicCredentials{"u", ""}, "u", ""));
}

TEST(Basic, PasswordsMayContainColonsAndUtf8) {
    const BasicCredentials c{"user", "pa:ss:\xc3\xa9"};
    const auto parsed = parse_authorization(to_header_value(c));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(std::get<BasicCredentials>(*parsed), c);
    EXPECT_EQ(std::get<BasicCredentials>(*parse_authorization("basic   dTo=")), (BasicCredentials{"u", ""}));
}

TEST(Basic, RejectsBadCredentials) {
    for (const std::string_view bad : {
             "Basic",
             "Basic dXNlcg==",                    // "user": no colon
             "Basic dTp4DQp5",                    // "u:x\r\ny"
             "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ",  // missing padding
             "Basic !!!!",
             "Basic realm=\"x\"",
             "Basic QWxh ZGRp",
             "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==, Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
             "Bearer abc",
             "",
         }) {
        EXPECT_FALSE(parse_authorization(bad).ok()) << bad;
    }
}

TEST(Digest, Rfc2617ResponseExample) {
    const DigestCredentials c = rfc_credentials();
    EXPECT_EQ(c.username, "Mufasa");
    EXPECT_EQ(c.realm, "testrealm@host.com");
    EXPECT_EQ(c.nonce, "dcd98b7102dd2f0e8b11d0f600bfb0c093");
    EXPECT_EQ(c.uri, "/dir/index.html");
    EXPECT_EQ(c.qop, "auth");
    EXPECT_EQ(c.nc, 1u);
    EXPECT_EQ(c.cnonce, "0a4f113b");
    EXPECT_EQ(c.opaque, "5ccc069c403ebaf9f0171e9517f40e41");
    EXPECT_FALSE(c.algorithm.has_value());

    const auto response = digest_response(c, "Circle Of Life", "GET");
    ASSERT_TRUE(response.ok()) << response.error();
    EXPECT_EQ(*response, "6629fae49393a05397450978507c4ef1");
    EXPECT_TRUE(verify_digest(c, "Circle Of Life", "GET"));
    EXPECT_FALSE(verify_digest(c, "Circle of Life", "GET"));
    EXPECT_FALSE(verify_digest(c, "Circle Of Life", "DESCRIBE"));

    const std::string ha1 =
        digest_ha1(DigestAlgorithm::md5, "Mufasa", "testrealm@host.com", "Circle Of Life", "", "");
    EXPECT_EQ(ha1, "939e7578ed9e3c518a452acee763bce9");
    EXPECT_TRUE(verify_digest_ha1(c, ha1, "GET"));
    EXPECT_TRUE(verify_digest_ha1(c, "939E7578ED9E3C518A452ACEE763BCE9", "GET"));
    EXPECT_FALSE(verify_digest_ha1(c, "not-a-hash", "GET"));

    DigestCredentials upper = c;
    upper.response = "6629FAE49393A05397450978507C4EF1";
    EXPECT_TRUE(verify_digest(upper, "Circle Of Life", "GET"));
    DigestCredentials tampered = c;
    tampered.nc = 2;
    EXPECT_FALSE(verify_digest(tampered, "Circle Of Life", "GET"));
}

TEST(Digest, ClientAnswersRfcChallenge) {
    const auto challenge = find_digest_challenge(k_rfc_challenge);
    ASSERT_TRUE(challenge.ok()) << challenge.error();
    EXPECT_EQ(challenge->realm, "testrealm@host.com");
    EXPECT_EQ(challenge->qop, (std::vector<std::string>{"auth", "auth-int"}));
    EXPECT_TRUE(challenge->offers_qop_auth());
    EXPECT_FALSE(challenge->stale);

    DigestClientInput input;
    input.username = "Mufasa";
    input.password = "Circle Of Life";
    input.method = "GET";
    input.uri = "/dir/index.html";
    input.cnonce = "0a4f113b";
    input.nc = 1;
    const auto creds = make_digest_credentials(*challenge, input);
    ASSERT_TRUE(creds.ok()) << creds.error();
    EXPECT_EQ(*creds, rfc_credentials());
    EXPECT_EQ(
        to_header_value(*creds),
        R"(Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", )"
        R"(uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", )"
        R"(response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41")");

    input.cnonce = "";
    EXPECT_FALSE(make_digest_credentials(*challenge, input).ok());
}

TEST(Digest, WithoutQopRfc2069Style) {
    // Typical RTSP camera challenge (live555 style: no qop).
    const auto challenge = find_digest_challenge(R"(Digest realm="LIVE555 Streaming Media", nonce="a1b2c3")");
    ASSERT_TRUE(challenge.ok());
    DigestClientInput input{"user", "pass", "DESCRIBE", "rtsp://10.0.0.1/live", "", 1};
    const auto creds = make_digest_credentials(*challenge, input);
    ASSERT_TRUE(creds.ok()) << creds.error();
    EXPECT_FALSE(creds->qop.has_value());
    EXPECT_FALSE(creds->nc.has_value());
    EXPECT_FALSE(creds->cnonce.has_value());
    // response = MD5(MD5("user:LIVE555 Streaming Media:pass") ":a1b2c3:"
    // MD5("DESCRIBE:rtsp://10.0.0.1/live"))
    EXPECT_EQ(creds->response, "f04b8017e5133c1cf66eed50be4737b9");
    EXPECT_TRUE(verify_digest(*creds, "pass", "DESCRIBE"));
    EXPECT_EQ(
        to_header_value(*creds),
        R"(Digest username="user", realm="LIVE555 Streaming Media", nonce="a1b2c3", uri="rtsp://10.0.0.1/live", )"
        R"(response="f04b8017e5133c1cf66eed50be4737b9")");
}

TEST(Digest, Md5Sess) {
    const auto challenge =
        find_digest_challenge(R"(Digest realm="r", nonce="n", algorithm=MD5-sess, qop="auth", stale=TRUE)");
    ASSERT_TRUE(challenge.ok());
    EXPECT_EQ(challenge->algorithm, DigestAlgorithm::md5_sess);
    EXPECT_TRUE(challenge->stale);
    DigestClientInput input{"u", "p", "PLAY", "rtsp://h/s", "cn", 7};
    const auto creds = make_digest_credentials(*challenge, input);
    ASSERT_TRUE(creds.ok());
    // HA1 = MD5(MD5("u:r:p") ":n:cn"), hex inner digest (RFC 2617 erratum, RFC 7616).
    EXPECT_EQ(digest_ha1(DigestAlgorithm::md5_sess, "u", "r", "p", "n", "cn"),
              "48b43a4e7d1e663dc3b8c2a7dbc475bc");
    EXPECT_EQ(creds->response, "a429ca92b420d39744632bb5e1a48ba5");
    EXPECT_TRUE(verify_digest(*creds, "p", "PLAY"));
    const auto reparsed = parse_authorization(to_header_value(*creds));
    ASSERT_TRUE(reparsed.ok());
    EXPECT_EQ(std::get<DigestCredentials>(*reparsed), *creds);
    EXPECT_EQ(std::get<DigestCredentials>(*reparsed).algorithm, DigestAlgorithm::md5_sess);
}

TEST(Digest, UnsupportedChoices) {
    const auto only_int = find_digest_challenge(R"(Digest realm="r", nonce="n", qop="auth-int")");
    ASSERT_TRUE(only_int.ok());
    EXPECT_FALSE(make_digest_credentials(*only_int, DigestClientInput{"u", "p", "PLAY", "/", "c", 1}).ok());
    EXPECT_FALSE(find_digest_challenge(R"(Digest realm="r", nonce="n", algorithm=SHA-256)").ok());
    EXPECT_FALSE(find_digest_challenge(R"(Basic realm="r")").ok());
    // The first usable Digest challenge is chosen.
    const auto pick = find_digest_challenge(
        R"(Digest realm="r", nonce="a", algorithm=SHA-256, Digest realm="r", nonce="b", algorithm=MD5, Basic realm="r")");
    ASSERT_TRUE(pick.ok());
    EXPECT_EQ(pick->nonce, "b");

    DigestCredentials c = rfc_credentials();
    c.qop = "auth-int";
    EXPECT_FALSE(digest_response(c, "Circle Of Life", "GET").ok());
    EXPECT_FALSE(verify_digest(c, "Circle Of Life", "GET"));
}

TEST(Challenges, SplitsSeveralChallenges) {
    const auto r = parse_challenges(R"(Digest realm="x", nonce="y", Basic realm="x")");
    ASSERT_TRUE(r.ok()) << r.error();
    ASSERT_EQ(r->size(), 2u);
    EXPECT_EQ((*r)[0].scheme, "Digest");
    EXPECT_EQ((*r)[0].params, (std::vector<AuthParam>{{"realm", "x", true}, {"nonce", "y", true}}));
    EXPECT_EQ((*r)[1].scheme, "Basic");
    ASSERT_NE((*r)[1].find("REALM"), nullptr);
    EXPECT_EQ((*r)[1].find("realm")->value, "x");
    EXPECT_EQ(to_header_value(*r), R"(Digest realm="x", nonce="y", Basic realm="x")");
}

TEST(Challenges, QuotedStringsAndOddSpacing) {
    const auto r = parse_challenges(
        R"(  Digest   realm = "a \"quoted\", realm" ,nonce=abc , ,stale=false,domain="/a /b",Newauth, X token68==)");
    ASSERT_TRUE(r.ok()) << r.error();
    ASSERT_EQ(r->size(), 3u);
    EXPECT_EQ((*r)[0].find("realm")->value, R"(a "quoted", realm)");
    EXPECT_FALSE((*r)[0].find("nonce")->quoted);
    EXPECT_EQ((*r)[1].scheme, "Newauth");
    EXPECT_TRUE((*r)[1].params.empty());
    EXPECT_EQ((*r)[2].token68, "token68==");
    const auto d = parse_digest_challenge((*r)[0]);
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->domain, "/a /b");
    EXPECT_FALSE(d->stale);
    const auto back = parse_challenges(to_header_value(*r));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, *r);
}

TEST(Challenges, RejectsBadValues) {
    for (const std::string_view bad : {
             "",
             " , ",
             R"(realm="x")",
             R"(Digest realm="x)",
             R"(Digest realm="x", realm="y")",
             R"(Digest realm=, nonce="x")",  // "realm=" alone is a token68; params cannot follow it
             R"(Digest realm=a b)",
             R"(Digest "x")",
             R"(Digest realm="x"y)",
             R"(Basic abc==, realm="x")",
             "Digest realm=\"a\r\nb\"",
             "Digest realm=a\x01",
             "Dig\x01est",
             "=abc",
             "$igest,t63hkto ==",  // fuzzer: would format as `$igest t63hkto==`, a token68
             "X a==b",
         }) {
        EXPECT_FALSE(parse_challenges(bad).ok()) << bad;
    }
    EXPECT_FALSE(parse_digest_challenge(*parse_challenges(R"(Digest realm="x")")->begin()).ok());
    EXPECT_FALSE(parse_digest_challenge(*parse_challenges(R"(Digest abc==)")->begin()).ok());
}

TEST(Challenges, Bounds) {
    std::string many;
    for (std::size_t i = 0; i < k_max_challenges; ++i)
        many += "Basic realm=\"r\", ";
    EXPECT_TRUE(parse_challenges(many).ok());
    EXPECT_FALSE(parse_challenges(many + "Basic").ok());
    std::string params = "Digest a0=1";
    for (std::size_t i = 1; i < k_max_auth_params; ++i)
        params += ", a" + std::to_string(i) + "=1";
    EXPECT_TRUE(parse_challenges(params).ok());
    EXPECT_FALSE(parse_challenges(params + ", b=1").ok());
    EXPECT_FALSE(parse_challenges("Basic " + std::string(k_max_auth_length, 'A')).ok());
}

TEST(Digest, RejectsBadCredentials) {
    for (
        const std::string_view bad : {
            R"(Digest realm="r", nonce="n", uri="/", response="6629fae49393a05397450978507c4ef1")",
            R"(Digest username="u", nonce="n", uri="/", response="6629fae49393a05397450978507c4ef1")",
            R"(Digest username="u", realm="r", nonce="n", uri="/")",
            R"(Digest username="u", realm="r", nonce="n", uri="/", response="6629")",
            R"(Digest username="u", realm="r", nonce="n", uri="/", response="6629fae49393a05397450978507c4efz")",
            R"(Digest username="u", realm="r", nonce="n", uri="/", response="6629fae49393a05397450978507c4ef1", qop=auth)",
            R"(Digest username="u", realm="r", nonce="n", uri="/", response="6629fae49393a05397450978507c4ef1", nc=00000001)",
            R"(Digest username="u", realm="r", nonce="n", uri="/", response="6629fae49393a05397450978507c4ef1", qop=auth, cnonce="c", nc=1)",
            R"(Digest username="u", realm="r", nonce="n", uri="/", response="6629fae49393a05397450978507c4ef1", qop=auth, cnonce="c", nc=0000000g)",
            R"(Digest username="u", realm="r", nonce="n", uri="/", response="6629fae49393a05397450978507c4ef1", algorithm=SHA-256)",
            R"(Digest username="u", realm="r", nonce="n", uri="/", response="6629fae49393a05397450978507c4ef1", algorithm=MD5-sess)",
            R"(Digest username="u", realm="r", nonce="n", uri="/", response="6629fae49393a05397450978507c4ef1", qop="a b", cnonce="c", nc=00000001)",
            R"(Digest abc=)",
        }) {
        EXPECT_FALSE(parse_authorization(bad).ok()) << bad;
    }
}

TEST(Digest, LenientCredentialQuoting) {
    // Some clients quote qop and nc, or leave the uri unquoted.
    const auto a = parse_authorization(
        R"(digest username="u", realm="r", nonce="n", uri=rtsp://h/s, response="6629FAE49393A05397450978507C4EF1", )"
        R"(qop="auth", nc="0000000A", cnonce="c", userhash=false)");
    ASSERT_TRUE(a.ok()) << a.error();
    const auto& d = std::get<DigestCredentials>(*a);
    EXPECT_EQ(d.uri, "rtsp://h/s");
    EXPECT_EQ(d.nc, 10u);
    const auto back = parse_authorization(to_header_value(*a));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, *a);
}

TEST(Challenges, ServerSideFormatting) {
    DigestChallenge c;
    c.realm = "streamgate";
    c.nonce = "0123abcd";
    c.opaque = "op";
    c.qop = {"auth"};
    c.algorithm = DigestAlgorithm::md5;
    c.stale = true;
    c.domain = "rtsp://h/";
    const std::string value = to_header_value(c);
    EXPECT_EQ(value,
              R"(Digest realm="streamgate", domain="rtsp://h/", nonce="0123abcd", opaque="op", stale=true, )"
              R"(algorithm=MD5, qop="auth")");
    const auto back = find_digest_challenge(value);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, c);
    EXPECT_EQ(basic_challenge("a \"b\""), R"(Basic realm="a \"b\"")");
}

TEST(Digest, EveryPrefixFailsOrRoundTrips) {
    const std::string full(k_rfc_authorization);
    for (std::size_t n = 0; n < full.size(); ++n) {
        const auto r = parse_authorization(full.substr(0, n));
        // Every parameter up to response is required, and response is the second-to-last one.
        EXPECT_FALSE(r.ok() && n < full.find("response=")) << full.substr(0, n);
        if (!r.ok()) continue;
        const auto back = parse_authorization(to_header_value(*r));
        ASSERT_TRUE(back.ok());
        EXPECT_EQ(*back, *r);
    }
    const std::string challenge(k_rfc_challenge);
    for (std::size_t n = 0; n <= challenge.size(); ++n) {
        const auto r = parse_challenges(challenge.substr(0, n));
        if (!r.ok()) continue;
        const auto back = parse_challenges(to_header_value(*r));
        ASSERT_TRUE(back.ok());
        EXPECT_EQ(*back, *r);
    }
}

}  // namespace
}  // namespace sg::rtsp
