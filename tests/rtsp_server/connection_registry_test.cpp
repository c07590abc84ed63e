#include "rtsp_server/connection_registry.hpp"

#include <gtest/gtest.h>

#include <memory>

namespace sg::server {
namespace {

struct FakeConnection {
    int id = 0;
};

TEST(ConnectionRegistry, ListsTheLiveConnectionsWithoutKeepingAnyAlive) {
    ConnectionRegistry<FakeConnection> registry;
    auto first = std::make_shared<FakeConnection>(FakeConnection{1});
    auto second = std::make_shared<FakeConnection>(FakeConnection{2});
    registry.add(first);
    registry.add(second);
    std::weak_ptr<FakeConnection> gone = first;
    first.reset();
    EXPECT_TRUE(gone.expired());  // the registry did not hold it
    const auto live = registry.live();
    ASSERT_EQ(live.size(), 1u);
    EXPECT_EQ(live[0]->id, 2);
}

TEST(ConnectionRegistry, TakeHandsOverTheLiveOnesAndForgetsAll) {
    ConnectionRegistry<FakeConnection> registry;
    auto connection = std::make_shared<FakeConnection>(FakeConnection{7});
    registry.add(connection);
    const auto taken = registry.take();
    ASSERT_EQ(taken.size(), 1u);
    EXPECT_EQ(taken[0], connection);
    EXPECT_TRUE(registry.live().empty());
}

}  // namespace
}  // namespace sg::server
