// The detector's UDP flow table: finds what was inserted and nothing else, even when every key shares one
// hash; erased flows leave tombstones that lookups probe past and inserts reuse; slots are recycled; the
// table grows through many rehashes without losing a flow.

#include "detect/flow_table.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <random>

namespace sg::detect {
namespace {

struct Value {
    std::uint64_t payload = 0;
    std::int64_t seen = 0;
};

TEST(FlowTable, FindsOnlyWhatWasInserted) {
    FlowTable<std::uint64_t, Value> table;
    EXPECT_EQ(table.find(1, 1), nullptr);
    table.insert(1, 11).payload = 100;
    table.insert(2, 22).payload = 200;
    ASSERT_NE(table.find(1, 11), nullptr);
    EXPECT_EQ(table.find(1, 11)->payload, 100u);
    EXPECT_EQ(table.find(2, 22)->payload, 200u);
    EXPECT_EQ(table.find(3, 11), nullptr) << "same hash, other key";
    EXPECT_EQ(table.size(), 2u);
}

TEST(FlowTable, CollidingHashesTombstonesAndReuse) {
    FlowTable<std::uint64_t, Value> table;
    constexpr std::uint64_t k_hash = 0xdeadbeef00000007ULL;  // every key in one probe chain
    for (std::uint64_t k = 0; k < 50; ++k)
        table.insert(k, k_hash).payload = k;
    // Erase the even keys: the odd ones behind them in the chain stay reachable.
    EXPECT_EQ(table.erase_if([](const Value& v) { return v.payload % 2 == 0; }), 25u);
    EXPECT_EQ(table.size(), 25u);
    for (std::uint64_t k = 0; k < 50; ++k) {
        const Value* v = table.find(k, k_hash);
        if (k % 2 == 0) {
            EXPECT_EQ(v, nullptr) << k;
        } else {
            ASSERT_NE(v, nullptr) << k;
            EXPECT_EQ(v->payload, k);
        }
    }
    // Re-inserted keys start from a default value (nothing of the erased flow survives).
    Value& again = table.insert(4, k_hash);
    EXPECT_EQ(again.payload, 0u);
    EXPECT_EQ(table.size(), 26u);
    EXPECT_EQ(table.find(4, k_hash), &again);
}

TEST(FlowTable, AgreesWithAMapThroughGrowthAndSweeps) {
    FlowTable<std::uint64_t, Value> table;
    std::map<std::uint64_t, std::int64_t> model;
    std::mt19937_64 rng(5);
    const auto hash_of = [](std::uint64_t k) { return k * 0x9e3779b97f4a7c15ULL; };
    for (std::int64_t now = 0; now < 200000; ++now) {
        const std::uint64_t key = rng() % 20000;
        if (Value* v = table.find(key, hash_of(key))) {
            v->seen = now;
        } else {
            table.insert(key, hash_of(key)).seen = now;
        }
        model[key] = now;
        if (now % 10000 == 9999) {
            const std::int64_t horizon = now - 5000;
            const std::size_t erased = table.erase_if([horizon](const Value& v) { return v.seen < horizon; });
            std::size_t model_erased = 0;
            for (auto it = model.begin(); it != model.end();) {
                if (it->second < horizon) {
                    it = model.erase(it);
                    ++model_erased;
                } else {
                    ++it;
                }
            }
            ASSERT_EQ(erased, model_erased);
            ASSERT_EQ(table.size(), model.size());
        }
    }
    for (const auto& [key, seen] : model) {
        const Value* v = table.find(key, hash_of(key));
        ASSERT_NE(v, nullptr) << key;
        EXPECT_EQ(v->seen, seen);
    }
}

}  // namespace
}  // namespace sg::detect
