#include "socks/credentials.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace sg::socks {
namespace {

TEST(UserSpec, Accepted) {
    const struct {
        std::string_view spec;
        std::string_view user;
        std::string_view password;
    } cases[] = {
        {"alice:secret", "alice", "secret"},
        {"a:b", "a", "b"},
        {"alice:se:cr:et", "alice", "se:cr:et"},  // split at the first ':'
        {"alice::", "alice", ":"},
        {"al ice:pass word", "al ice", "pass word"},
        {"\xc3\xa9:\xff", "\xc3\xa9", "\xff"},  // RFC 1929 fields are octets, not text
    };
    for (const auto& c : cases) {
        const auto r = parse_user_spec(c.spec);
        ASSERT_TRUE(r.ok()) << c.spec << ": " << r.error();
        EXPECT_EQ(r->first, c.user) << c.spec;
        EXPECT_EQ(r->second, c.password) << c.spec;
    }
}

TEST(UserSpec, Rejected) {
    for (const std::string_view spec : {"", ":", "alice", "alice:", ":secret", "::"}) {
        const auto r = parse_user_spec(spec);
        EXPECT_FALSE(r.ok()) << "'" << spec << "'";
        EXPECT_FALSE(r.error().empty()) << spec;
    }
}

TEST(UserSpec, LengthLimitsOfRfc1929) {
    const std::string u255(255, 'u');
    const std::string p255(255, 'p');
    EXPECT_TRUE(parse_user_spec(u255 + ":" + p255).ok());
    EXPECT_FALSE(parse_user_spec(u255 + "u:" + p255).ok());
    EXPECT_FALSE(parse_user_spec(u255 + ":" + p255 + "p").ok());
}

TEST(Credentials, VerifyTable) {
    Credentials creds;
    ASSERT_TRUE(creds.add("alice", "secret").ok());
    ASSERT_TRUE(creds.add_spec("bob:hunter2").ok());
    ASSERT_TRUE(creds.add_spec("carol:a:b").ok());
    ASSERT_TRUE(creds.add(std::string_view("nul\0user", 8), std::string_view("p\0q", 3)).ok());
    EXPECT_EQ(creds.size(), 4u);
    EXPECT_FALSE(creds.empty());

    const struct {
        std::string_view user;
        std::string_view password;
        bool expected;
    } cases[] = {
        {"alice", "secret", true},
        {"bob", "hunter2", true},
        {"carol", "a:b", true},
        {std::string_view("nul\0user", 8), std::string_view("p\0q", 3), true},
        {"alice", "Secret", false},
        {"alice", "secre", false},    // prefix of the password
        {"alice", "secrets", false},  // password plus one byte
        {"alice", std::string_view("secret\0", 7), false},
        {"alice", "", false},
        {"alice", "hunter2", false},  // another user's password
        {"bob", "secret", false},
        {"Alice", "secret", false},  // names are octets: case matters
        {"alic", "secret", false},
        {"alicex", "secret", false},
        {"", "secret", false},
        {"", "", false},
        {"mallory", "secret", false},
        {"carol", "a", false},
        {"nul", std::string_view("p\0q", 3), false},
        {std::string_view("nul\0user", 8), "p", false},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(creds.verify(c.user, c.password), c.expected) << c.user << " / " << c.password;
    }
}

TEST(Credentials, LongestFieldsAndOversizedInput) {
    Credentials creds;
    const std::string u255(255, 'u');
    const std::string p255(255, 'p');
    ASSERT_TRUE(creds.add(u255, p255).ok());
    EXPECT_TRUE(creds.verify(u255, p255));
    // Comparisons walk 255 bytes; a longer input must still fail on its length.
    EXPECT_FALSE(creds.verify(u255, p255 + "p"));
    EXPECT_FALSE(creds.verify(u255 + "u", p255));
    EXPECT_FALSE(creds.verify(u255, std::string(254, 'p')));
    std::string last_differs = p255;
    last_differs.back() = 'q';
    EXPECT_FALSE(creds.verify(u255, last_differs));
}

TEST(Credentials, AddRejectsBadAccounts) {
    Credentials creds;
    ASSERT_TRUE(creds.add("alice", "secret").ok());
    EXPECT_FALSE(creds.add("alice", "other").ok());  // same user twice
    EXPECT_FALSE(creds.add_spec("alice:other").ok());
    EXPECT_FALSE(creds.add("", "pw").ok());
    EXPECT_FALSE(creds.add("user", "").ok());
    EXPECT_FALSE(creds.add(std::string(256, 'u'), "pw").ok());
    EXPECT_FALSE(creds.add("user", std::string(256, 'p')).ok());
    EXPECT_FALSE(creds.add_spec("nocolon").ok());
    EXPECT_FALSE(creds.add_spec(":pw").ok());
    EXPECT_EQ(creds.size(), 1u);
    // The first password is kept after a rejected duplicate.
    EXPECT_TRUE(creds.verify("alice", "secret"));
    EXPECT_FALSE(creds.verify("alice", "other"));
    // Names differing only in case are distinct accounts.
    EXPECT_TRUE(creds.add("Alice", "upper").ok());
    EXPECT_TRUE(creds.verify("Alice", "upper"));
    EXPECT_FALSE(creds.verify("alice", "upper"));
}

TEST(Credentials, EmptySetVerifiesNothing) {
    const Credentials none;
    EXPECT_TRUE(none.empty());
    EXPECT_EQ(none.size(), 0u);
    EXPECT_FALSE(none.verify("alice", "secret"));
    EXPECT_FALSE(none.verify("", ""));
}

TEST(Credentials, ManyAccountsEachVerifyOnlyTheirOwn) {
    Credentials creds;
    for (int i = 0; i < 50; ++i) {
        ASSERT_TRUE(creds.add("user" + std::to_string(i), "pw" + std::to_string(i)).ok());
    }
    for (int i = 0; i < 50; ++i) {
        const std::string user = "user" + std::to_string(i);
        EXPECT_TRUE(creds.verify(user, "pw" + std::to_string(i))) << user;
        EXPECT_FALSE(creds.verify(user, "pw" + std::to_string((i + 1) % 50))) << user;
    }
    EXPECT_FALSE(creds.verify("user50", "pw50"));
}

}  // namespace
}  // namespace sg::socks
