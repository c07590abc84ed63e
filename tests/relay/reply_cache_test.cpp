#include "relay/reply_cache.hpp"

#include <gtest/gtest.h>

#include <string>

namespace sg::relay {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const ReplyCache::TimePoint t0{};

TEST(ReplyCache, RetransmissionGetsTheSameReply) {
    ReplyCache cache;
    EXPECT_EQ(cache.find("127.0.0.1:5060", "5323_1", t0), nullptr);
    cache.insert("127.0.0.1:5060", "5323_1", "5323_1 d6:result4:ponge", t0);
    const std::string* hit = cache.find("127.0.0.1:5060", "5323_1", t0 + seconds(2));
    ASSERT_NE(hit, nullptr);
    EXPECT_EQ(*hit, "5323_1 d6:result4:ponge");
}

TEST(ReplyCache, SameCookieFromAnotherProxyIsAnotherRequest) {
    ReplyCache cache;
    cache.insert("10.0.0.1:5060", "1_1_1", "A", t0);
    EXPECT_EQ(cache.find("10.0.0.2:5060", "1_1_1", t0), nullptr);
    cache.insert("10.0.0.2:5060", "1_1_1", "B", t0);
    EXPECT_EQ(*cache.find("10.0.0.1:5060", "1_1_1", t0), "A");
    EXPECT_EQ(*cache.find("10.0.0.2:5060", "1_1_1", t0), "B");
    // The key cannot be forged by moving bytes between the address and the cookie.
    cache.insert("a b", "c", "X", t0);
    EXPECT_EQ(cache.find("a", "b c", t0), nullptr);
}

TEST(ReplyCache, EntriesExpireAfterTheTtl) {
    ReplyCache cache(ReplyCache::Limits{100, 1 << 20, milliseconds(30'000)});
    cache.insert("s", "c1", "r1", t0);
    cache.insert("s", "c2", "r2", t0 + seconds(10));
    EXPECT_NE(cache.find("s", "c1", t0 + milliseconds(29'999)), nullptr);
    EXPECT_EQ(cache.find("s", "c1", t0 + seconds(30)), nullptr);  // expired exactly at the TTL
    EXPECT_NE(cache.find("s", "c2", t0 + seconds(30)), nullptr);
    cache.expire(t0 + seconds(40));
    EXPECT_EQ(cache.size(), 0U);
    EXPECT_EQ(cache.bytes(), 0U);
}

TEST(ReplyCache, EntryLimitEvictsTheOldest) {
    ReplyCache cache(ReplyCache::Limits{3, 1 << 20, seconds(30)});
    for (int i = 0; i < 5; ++i)
        cache.insert("s", std::string(1, 'c').append(std::to_string(i)), "r", t0 + milliseconds(i));
    EXPECT_EQ(cache.size(), 3U);
    EXPECT_EQ(cache.find("s", "c0", t0 + milliseconds(5)), nullptr);
    EXPECT_EQ(cache.find("s", "c1", t0 + milliseconds(5)), nullptr);
    EXPECT_NE(cache.find("s", "c2", t0 + milliseconds(5)), nullptr);
    EXPECT_NE(cache.find("s", "c4", t0 + milliseconds(5)), nullptr);
}

TEST(ReplyCache, ByteLimitEvictsTheOldestAndRefusesAHugeReply) {
    // Each entry costs key ("1:s" + cookie "cN" = 5 bytes) + a 95-byte reply = 100 bytes.
    ReplyCache cache(ReplyCache::Limits{100, 300, seconds(30)});
    const std::string reply(95, 'r');
    for (int i = 0; i < 4; ++i)
        cache.insert("s", std::string(1, 'c').append(std::to_string(i)), reply, t0);
    EXPECT_EQ(cache.size(), 3U);
    EXPECT_EQ(cache.bytes(), 300U);
    EXPECT_EQ(cache.find("s", "c0", t0), nullptr);
    cache.insert("s", "huge", std::string(400, 'x'), t0);
    EXPECT_EQ(cache.find("s", "huge", t0), nullptr);
    EXPECT_EQ(cache.size(), 3U);
}

TEST(ReplyCache, ReplacingAnEntryKeepsAccountsRightAndStaleRecordsBounded) {
    ReplyCache cache(ReplyCache::Limits{10, 1 << 20, seconds(30)});
    for (int i = 0; i < 10'000; ++i)
        cache.insert("s", "same", "reply" + std::to_string(i % 10), t0 + milliseconds(i));
    EXPECT_EQ(cache.size(), 1U);
    EXPECT_EQ(*cache.find("s", "same", t0 + seconds(10)), "reply9");
    EXPECT_EQ(cache.bytes(), std::string("1:ssame").size() + 6);
    // The replaced entry lives on from its latest insert, not from the first.
    EXPECT_NE(cache.find("s", "same", t0 + milliseconds(9'999) + milliseconds(29'999)), nullptr);
    EXPECT_EQ(cache.find("s", "same", t0 + milliseconds(9'999) + seconds(30)), nullptr);
    EXPECT_EQ(cache.bytes(), 0U);
}

TEST(ReplyCache, ZeroEntriesMeansNoCaching) {
    ReplyCache cache(ReplyCache::Limits{0, 1 << 20, seconds(30)});
    cache.insert("s", "c", "r", t0);
    EXPECT_EQ(cache.find("s", "c", t0), nullptr);
    EXPECT_EQ(cache.size(), 0U);
}

}  // namespace
}  // namespace sg::relay
