#include "relay/port_pool.hpp"

#include <gtest/gtest.h>

namespace sg::relay {
namespace {

TEST(PortPool, HandsOutEvenPortsOfWholePairs) {
    PortPool pool(30001, 30007);  // pairs 30002/3, 30004/5, 30006/7
    EXPECT_EQ(pool.total_pairs(), 3U);
    EXPECT_EQ(pool.take(), 30002);
    EXPECT_EQ(pool.take(), 30004);
    EXPECT_EQ(pool.take(), 30006);
    EXPECT_FALSE(pool.take());
}

TEST(PortPool, ReleasedPortsComeBackLast) {
    PortPool pool(30000, 30005);
    const auto a = pool.take();
    pool.release(*a);
    EXPECT_EQ(pool.take(), 30002);
    EXPECT_EQ(pool.take(), 30004);
    EXPECT_EQ(pool.take(), 30000);
}

TEST(PortPool, IgnoresDoubleAndForeignReleases) {
    PortPool pool(30000, 30003);
    const auto a = pool.take();
    pool.release(*a);
    pool.release(*a);
    pool.release(12345);
    pool.release(30001);
    EXPECT_EQ(pool.free_pairs(), 2U);
}

}  // namespace
}  // namespace sg::relay
