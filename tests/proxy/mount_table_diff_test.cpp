#include "proxy/mount_table_diff.hpp"

#include <gtest/gtest.h>

namespace sg::proxy {
namespace {

MountConfig mount(std::string name, std::string host,
                  UpstreamTransport transport = UpstreamTransport::automatic, bool always_on = false) {
    MountConfig m;
    m.name = std::move(name);
    m.url.scheme = "rtsp";
    m.url.host = std::move(host);
    m.url.path = "/live";
    m.transport = transport;
    m.always_on = always_on;
    return m;
}

std::vector<std::string> names(const std::vector<MountConfig>& mounts) {
    std::vector<std::string> out;
    for (const auto& m : mounts)
        out.push_back(m.name);
    return out;
}

using Names = std::vector<std::string>;

TEST(MountTableDiff, SameTableChangesNothing) {
    const std::vector<MountConfig> table{mount("a", "198.18.3.2"), mount("b", "2001:3::2")};
    const auto diff = diff_mount_tables(table, table);
    EXPECT_TRUE(diff.empty());
    EXPECT_EQ(diff.unchanged, (Names{"a", "b"}));
}

TEST(MountTableDiff, AddedRemovedAndRestartedByName) {
    const std::vector<MountConfig> running{mount("keep", "198.18.3.2"), mount("gone", "198.18.3.3"),
                                           mount("moved", "198.18.3.4")};
    const std::vector<MountConfig> fresh{mount("new", "198.18.3.5"), mount("moved", "198.18.3.9"),
                                         mount("keep", "198.18.3.2")};
    const auto diff = diff_mount_tables(running, fresh);
    EXPECT_EQ(names(diff.added), (Names{"new"}));
    EXPECT_EQ(diff.removed, (Names{"gone"}));
    EXPECT_EQ(names(diff.restarted), (Names{"moved"}));
    ASSERT_EQ(diff.restarted.size(), 1U);
    EXPECT_EQ(diff.restarted[0].url.host, "198.18.3.9");  // the fresh configuration
    EXPECT_TRUE(diff.retuned.empty());
    EXPECT_EQ(diff.unchanged, (Names{"keep"}));
}

TEST(MountTableDiff, WhatRestartsTheUpstream) {
    const auto base = mount("cam", "198.18.3.2");
    struct Case {
        const char* what;
        MountConfig changed;
        bool restarts;
    };
    std::vector<Case> cases;
    auto path = base;
    path.url.path = "/other";
    cases.push_back({"path", path, true});
    auto port = base;
    port.url.port = 8554;
    cases.push_back({"port", port, true});
    auto user = base;
    user.url.user = "viewer";
    cases.push_back({"user", user, true});
    auto password = base;
    password.url.password = "secret";
    cases.push_back({"password", password, true});
    cases.push_back({"transport", mount("cam", "198.18.3.2", UpstreamTransport::tcp), true});
    cases.push_back({"always_on", mount("cam", "198.18.3.2", UpstreamTransport::automatic, true), false});
    for (const auto& c : cases) {
        const std::vector<MountConfig> running{base};
        const std::vector<MountConfig> fresh{c.changed};
        const auto diff = diff_mount_tables(running, fresh);
        EXPECT_EQ(diff.restarted.size(), c.restarts ? 1U : 0U) << c.what;
        EXPECT_EQ(diff.retuned.size(), c.restarts ? 0U : 1U) << c.what;
        EXPECT_TRUE(diff.added.empty()) << c.what;
        EXPECT_TRUE(diff.removed.empty()) << c.what;
    }
}

TEST(MountTableDiff, EmptyTables) {
    const std::vector<MountConfig> table{mount("a", "198.18.3.2")};
    const auto from_nothing = diff_mount_tables({}, table);
    EXPECT_EQ(names(from_nothing.added), (Names{"a"}));
    const auto to_nothing = diff_mount_tables(table, {});
    EXPECT_EQ(to_nothing.removed, (Names{"a"}));
}

}  // namespace
}  // namespace sg::proxy
