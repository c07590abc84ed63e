// Request-URI paths map onto files under the served directory and nowhere else.
#include "server/media_path.hpp"

#include "common/percent.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace sg::server {
namespace {

namespace fs = std::filesystem;

class MediaPathTest : public ::testing::Test {
protected:
    void SetUp() override {
        base_ = fs::temp_directory_path() / ("sg-media-path-" + std::to_string(::getpid()));
        fs::remove_all(base_);
        fs::create_directories(base_ / "root" / "sub dir");
        std::ofstream(base_ / "root" / "clip.mp4") << "x";
        std::ofstream(base_ / "root" / "sub dir" / "a.ts") << "x";
        std::ofstream(base_ / "secret.mp4") << "x";
        fs::create_symlink(base_ / "secret.mp4", base_ / "root" / "escape.mp4");
        fs::create_symlink(base_ / "root" / "clip.mp4", base_ / "root" / "inside.mp4");
        root_ = fs::canonical(base_ / "root");
    }
    void TearDown() override { fs::remove_all(base_); }

    fs::path base_;
    fs::path root_;
};

TEST_F(MediaPathTest, FindsFilesAndTracks) {
    auto t = resolve_media_path(root_, "/clip.mp4");
    ASSERT_TRUE(t) << t.error();
    EXPECT_EQ(t->file, root_ / "clip.mp4");
    EXPECT_EQ(t->relative, "clip.mp4");
    EXPECT_FALSE(t->track);

    t = resolve_media_path(root_, "/sub%20dir/a.ts/trackID=3?token=1");
    ASSERT_TRUE(t) << t.error();
    EXPECT_EQ(t->file, root_ / "sub dir" / "a.ts");
    EXPECT_EQ(t->relative, "sub dir/a.ts");
    EXPECT_EQ(t->track, 3U);

    t = resolve_media_path(root_, "//clip.mp4/");  // empty segments are ignored
    ASSERT_TRUE(t);
    EXPECT_EQ(t->relative, "clip.mp4");
    EXPECT_TRUE(resolve_media_path(root_, "/inside.mp4")) << "a symlink within the root is fine";
}

TEST_F(MediaPathTest, NothingOutsideTheRoot) {
    for (const char* path :
         {"/../secret.mp4", "/%2e%2e/secret.mp4", "/%2E%2E%2Fsecret.mp4", "/sub dir/../../secret.mp4",
          "/./clip.mp4", "/escape.mp4", "/", "", "/trackID=0", "/sub%20dir", "/missing.mp4",
          "/clip.mp4%00.txt", "/clip%2", "/clip.mp4/trackID=x"}) {
        EXPECT_FALSE(resolve_media_path(root_, path)) << path;
    }
}

TEST(PercentDecode, DecodesAndRejectsMalformedEscapes) {
    EXPECT_EQ(*percent_decode("a%20b%2Fc"), "a b/c");
    EXPECT_FALSE(percent_decode("%"));
    EXPECT_FALSE(percent_decode("%4"));
    EXPECT_FALSE(percent_decode("%zz"));
    EXPECT_FALSE(percent_decode("a%00"));
}

TEST(RequestUriPath, TakesThePathOfAbsoluteUrls) {
    EXPECT_EQ(request_uri_path("rtsp://[2001:db8::1]:8554/a/b.mp4/trackID=1"), "/a/b.mp4/trackID=1");
    EXPECT_EQ(request_uri_path("rtsp://h/x?y"), "/x?y");
    EXPECT_FALSE(request_uri_path("*"));
    EXPECT_FALSE(request_uri_path("http://h/x"));
}

}  // namespace
}  // namespace sg::server
