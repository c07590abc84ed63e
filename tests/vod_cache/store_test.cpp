// The VOD cache's store: entries committed from finished recordings, bounded in bytes with the least
// recently used evicted first, and found again by a later run.
#include "vod_cache/store.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace sg::vod {
namespace {

namespace fs = std::filesystem;

class StoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        directory_ =
            fs::temp_directory_path() / ("sg_vod_store_" + std::to_string(::getpid()) + "_" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(directory_);
    }
    void TearDown() override { fs::remove_all(directory_); }

    // Writes `bytes` bytes where the store expects key's recording, then commits it.
    static bool record(Store& store, const std::string& key, std::size_t bytes, std::string& error) {
        const auto partial = store.partial_path(key, ".mkv");
        std::ofstream(partial, std::ios::binary) << std::string(bytes, 'x');
        return store.commit(key, partial,
                            EntryInfo{"rtsp://origin/" + key, "v=0\r\n", "Sat, 05 Dec 2026 10:00:00 GMT"},
                            error);
    }

    fs::path directory_;
};

TEST_F(StoreTest, KeysAreHexDigestsOfTheUrl) {
    const auto key = Store::key_of("rtsp://origin/clip.mp4");
    EXPECT_EQ(key.size(), 64U);
    EXPECT_EQ(key, Store::key_of("rtsp://origin/clip.mp4"));
    EXPECT_NE(key, Store::key_of("rtsp://origin/other.mp4"));
    EXPECT_EQ(key.find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST_F(StoreTest, TheLeastRecentlyUsedEntryIsEvictedFirst) {
    Store store(directory_, 2500);
    std::string error;
    ASSERT_TRUE(store.load(error)) << error;
    ASSERT_TRUE(record(store, "a", 1000, error)) << error;
    ASSERT_TRUE(record(store, "b", 1000, error)) << error;
    ASSERT_NE(store.use("a"), nullptr);  // a is now more recent than b
    ASSERT_TRUE(record(store, "c", 1000, error)) << error;
    EXPECT_EQ(store.entries(), 2U);
    EXPECT_EQ(store.bytes(), 2000U);
    EXPECT_EQ(store.evictions(), 1U);
    EXPECT_NE(store.find("a"), nullptr);
    EXPECT_EQ(store.find("b"), nullptr);
    EXPECT_FALSE(fs::exists(directory_ / "b.mkv"));
    EXPECT_FALSE(fs::exists(directory_ / "b.json"));
    const auto* c = store.find("c");
    ASSERT_NE(c, nullptr);
    EXPECT_TRUE(fs::exists(c->file));
    EXPECT_TRUE(c->validated.has_value());
    EXPECT_EQ(c->info.url, "rtsp://origin/c");
}

TEST_F(StoreTest, ARecordingLargerThanTheCacheIsNotStored) {
    Store store(directory_, 500);
    std::string error;
    ASSERT_TRUE(store.load(error));
    EXPECT_FALSE(record(store, "big", 1000, error));
    EXPECT_NE(error.find("exceeds"), std::string::npos) << error;
    EXPECT_EQ(store.entries(), 0U);
    EXPECT_FALSE(fs::exists(store.partial_path("big", ".mkv")));
}

TEST_F(StoreTest, ALaterRunFindsTheEntriesAndDropsUnfinishedRecordings) {
    std::string error;
    {
        Store store(directory_, 10000);
        ASSERT_TRUE(store.load(error));
        ASSERT_TRUE(record(store, "kept", 1200, error)) << error;
        std::ofstream(store.partial_path("cut", ".mkv"), std::ios::binary) << "half a recording";
    }
    Store store(directory_, 10000);
    ASSERT_TRUE(store.load(error)) << error;
    EXPECT_EQ(store.entries(), 1U);
    EXPECT_EQ(store.bytes(), 1200U);
    const auto* kept = store.use("kept");
    ASSERT_NE(kept, nullptr);
    EXPECT_FALSE(kept->validated.has_value());  // checked against its upstream at first use
    EXPECT_EQ(kept->info.last_modified, "Sat, 05 Dec 2026 10:00:00 GMT");
    EXPECT_FALSE(fs::exists(store.partial_path("cut", ".mkv")));
    store.remove("kept");
    EXPECT_EQ(store.entries(), 0U);
    EXPECT_EQ(store.bytes(), 0U);
}

TEST_F(StoreTest, ASidecarThatDoesNotParseDropsItsEntry) {
    std::string error;
    {
        Store store(directory_, 10000);
        ASSERT_TRUE(store.load(error));
        ASSERT_TRUE(record(store, "k", 100, error));
    }
    std::ofstream(directory_ / "k.json") << "{not json";
    Store store(directory_, 10000);
    ASSERT_TRUE(store.load(error));
    EXPECT_EQ(store.entries(), 0U);
    EXPECT_TRUE(fs::exists(directory_ / "k.mkv"));  // its sidecar is unreadable: left alone, not guessed at
}

}  // namespace
}  // namespace sg::vod
