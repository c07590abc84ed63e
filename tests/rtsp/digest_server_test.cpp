#include "rtsp/digest_server.hpp"

#include <gtest/gtest.h>

#include "rtsp/auth.hpp"

namespace sg::rtsp {
namespace {

constexpr std::uint64_t k_lifetime = 300;
constexpr std::uint64_t k_now = 1'000'000;
constexpr std::string_view k_uri = "rtsp://gw:8554/cam";

NonceSecret secret(std::uint8_t fill) {
    NonceSecret s{};
    s.fill(fill);
    return s;
}

DigestServer make_server(std::uint8_t fill = 7) {
    auto server = DigestServer::create("streamgate", {{"alice", "wonder land"}, {"bob", "b:0b"}},
                                       secret(fill), k_lifetime);
    EXPECT_TRUE(server) << server.error();
    return std::move(*server);
}

// What a client sends after reading `challenge`.
std::string answer(std::string_view challenge, std::string_view user, std::string_view password,
                   std::string_view method, std::string_view uri, bool use_qop) {
    auto parsed = find_digest_challenge(challenge);
    EXPECT_TRUE(parsed) << challenge;
    if (!use_qop) parsed->qop.clear();  // the RFC 2069 form
    const DigestClientInput input{user, password, method, uri, "0a4f113b", 1};
    const auto credentials = make_digest_credentials(*parsed, input);
    EXPECT_TRUE(credentials);
    return to_header_value(*credentials);
}

TEST(DigestServer, ChallengeOffersMd5AndQopAuthWithAFreshNonce) {
    const auto server = make_server();
    const auto parsed = find_digest_challenge(server.challenge(k_now, false));
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->realm, "streamgate");
    EXPECT_TRUE(parsed->offers_qop_auth());
    EXPECT_FALSE(parsed->stale);
    EXPECT_EQ(server.check_nonce(parsed->nonce, k_now), NonceState::valid);
    EXPECT_TRUE(find_digest_challenge(server.challenge(k_now, true))->stale);
}

TEST(DigestServer, AcceptsCorrectCredentialsWithAndWithoutQop) {
    const auto server = make_server();
    const auto challenge = server.challenge(k_now, false);
    for (const bool qop : {true, false}) {
        const auto header = answer(challenge, "alice", "wonder land", "DESCRIBE", k_uri, qop);
        const auto check = server.verify(&header, "DESCRIBE", k_uri, k_now + 10);
        EXPECT_EQ(check.verdict, DigestVerdict::ok) << header << ": " << check.reason;
        EXPECT_EQ(check.user, "alice");
    }
    // A password containing ':' (the spec is split at the first one).
    const auto header = answer(challenge, "bob", "b:0b", "SETUP", "rtsp://gw:8554/cam/track0", true);
    EXPECT_EQ(server.verify(&header, "SETUP", "rtsp://gw:8554/cam/track0", k_now).verdict, DigestVerdict::ok);
}

TEST(DigestServer, MissingHeaderIsNotAFailure) {
    const auto server = make_server();
    const auto check = server.verify(nullptr, "DESCRIBE", k_uri, k_now);
    EXPECT_EQ(check.verdict, DigestVerdict::missing);
}

TEST(DigestServer, RefusesWrongPasswordUserRealmUriMethod) {
    const auto server = make_server();
    const auto challenge = server.challenge(k_now, false);
    const auto refused = [&](const std::string& header, std::string_view method, std::string_view uri) {
        return server.verify(&header, method, uri, k_now).verdict == DigestVerdict::refused;
    };
    EXPECT_TRUE(
        refused(answer(challenge, "alice", "wonder-land", "DESCRIBE", k_uri, true), "DESCRIBE", k_uri));
    EXPECT_TRUE(
        refused(answer(challenge, "alice", "wonder-land", "DESCRIBE", k_uri, false), "DESCRIBE", k_uri));
    // bob's password for alice, and a user that does not exist.
    EXPECT_TRUE(refused(answer(challenge, "alice", "b:0b", "DESCRIBE", k_uri, true), "DESCRIBE", k_uri));
    EXPECT_TRUE(
        refused(answer(challenge, "carol", "wonder land", "DESCRIBE", k_uri, true), "DESCRIBE", k_uri));
    // Correct password, other realm.
    auto other_realm = std::string(challenge);
    other_realm.replace(other_realm.find("streamgate"), 10, "elsewhere!");
    EXPECT_TRUE(
        refused(answer(other_realm, "alice", "wonder land", "DESCRIBE", k_uri, true), "DESCRIBE", k_uri));
    // Credentials computed for another URI or method than the request's.
    const auto for_other =
        answer(challenge, "alice", "wonder land", "DESCRIBE", "rtsp://gw:8554/other", true);
    EXPECT_TRUE(refused(for_other, "DESCRIBE", k_uri));
    EXPECT_TRUE(refused(for_other, "DESCRIBE", "rtsp://gw:8554/other") == false);
    EXPECT_TRUE(refused(answer(challenge, "alice", "wonder land", "DESCRIBE", k_uri, true), "PLAY", k_uri));
}

TEST(DigestServer, RefusesBasicAndGarbage) {
    const auto server = make_server();
    const std::string basic = to_header_value(BasicCredentials{"alice", "wonder land"});
    const auto check = server.verify(&basic, "DESCRIBE", k_uri, k_now);
    EXPECT_EQ(check.verdict, DigestVerdict::refused);
    EXPECT_EQ(check.user, "alice");
    for (const std::string text :
         {"", "Digest", "Digest username=", "Bearer abc", "Digest username=\"alice\""}) {
        EXPECT_EQ(server.verify(&text, "DESCRIBE", k_uri, k_now).verdict, DigestVerdict::refused) << text;
    }
}

TEST(DigestServer, ExpiredNonceIsStaleOnlyWithCorrectCredentials) {
    const auto server = make_server();
    const auto challenge = server.challenge(k_now, false);
    const auto good = answer(challenge, "alice", "wonder land", "DESCRIBE", k_uri, true);
    EXPECT_EQ(server.verify(&good, "DESCRIBE", k_uri, k_now + k_lifetime).verdict, DigestVerdict::ok);
    EXPECT_EQ(server.verify(&good, "DESCRIBE", k_uri, k_now + k_lifetime + 1).verdict, DigestVerdict::stale);
    const auto bad = answer(challenge, "alice", "nope", "DESCRIBE", k_uri, true);
    EXPECT_EQ(server.verify(&bad, "DESCRIBE", k_uri, k_now + k_lifetime + 1).verdict, DigestVerdict::refused);
}

TEST(DigestServer, ForgedNoncesAreRefused) {
    const auto server = make_server();
    const auto nonce = server.make_nonce(k_now);
    ASSERT_EQ(server.check_nonce(nonce, k_now), NonceState::valid);
    // Another process (another secret) issued it.
    EXPECT_EQ(make_server(8).check_nonce(nonce, k_now), NonceState::invalid);
    // The time changed (to make an old nonce look fresh) without the MAC.
    auto retimed = nonce;
    retimed[15] = retimed[15] == '0' ? '1' : '0';
    EXPECT_EQ(server.check_nonce(retimed, k_now), NonceState::invalid);
    auto flipped = nonce;
    flipped.back() = flipped.back() == 'a' ? 'b' : 'a';
    EXPECT_EQ(server.check_nonce(flipped, k_now), NonceState::invalid);
    auto upper = nonce;
    for (char& c : upper)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (upper != nonce) {
        EXPECT_EQ(server.check_nonce(upper, k_now), NonceState::invalid);
    }
    EXPECT_EQ(server.check_nonce(nonce.substr(1), k_now), NonceState::invalid);
    EXPECT_EQ(server.check_nonce(nonce + "0", k_now), NonceState::invalid);
    EXPECT_EQ(server.check_nonce("", k_now), NonceState::invalid);
    // Issued "in the future" of this process's monotonic clock: never by this server.
    EXPECT_EQ(server.check_nonce(server.make_nonce(k_now + 5), k_now), NonceState::invalid);

    // Correct response computed over a forged nonce.
    std::string challenge = server.challenge(k_now, false);
    const auto at = challenge.find(nonce.substr(0, 16));
    ASSERT_NE(at, std::string::npos);
    challenge[at + 40] = challenge[at + 40] == 'f' ? 'e' : 'f';
    const auto forged = answer(challenge, "alice", "wonder land", "DESCRIBE", k_uri, true);
    const auto check = server.verify(&forged, "DESCRIBE", k_uri, k_now);
    EXPECT_EQ(check.verdict, DigestVerdict::refused);
    EXPECT_EQ(check.reason, "nonce not issued here");
}

TEST(DigestServer, CreateChecksAccounts) {
    EXPECT_FALSE(DigestServer::create("r", {}, secret(1), 10));
    EXPECT_FALSE(DigestServer::create("r", {{"a", ""}}, secret(1), 10));
    EXPECT_FALSE(DigestServer::create("r", {{"", "p"}}, secret(1), 10));
    EXPECT_FALSE(DigestServer::create("r", {{"a", "p"}, {"a", "q"}}, secret(1), 10));
    EXPECT_FALSE(DigestServer::create("", {{"a", "p"}}, secret(1), 10));
    EXPECT_FALSE(DigestServer::create("r\"", {{"a", "p"}}, secret(1), 10));
    EXPECT_TRUE(DigestServer::create("r", {{"a", "p"}}, secret(1), 10));
}

}  // namespace
}  // namespace sg::rtsp
