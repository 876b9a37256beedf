#include "actors/raylet/resource_pool.h"

#include <gtest/gtest.h>

using ray::raylet::ResourcePool;

TEST(ResourcePool, WholeUnitsGetDistinctIds) {
  ResourcePool pool({{"GPU", 2}});
  auto a = pool.Acquire({{"GPU", 1}});
  auto b = pool.Acquire({{"GPU", 1}});
  ASSERT_TRUE(a && b);
  EXPECT_NE((*a)["GPU"][0].first, (*b)["GPU"][0].first);
  EXPECT_FALSE(pool.Acquire({{"GPU", 1}}).has_value());
  pool.Release(*a);
  EXPECT_TRUE(pool.Acquire({{"GPU", 1}}).has_value());
}

TEST(ResourcePool, ExplicitUnitIdsAreUsed) {
  ResourcePool pool({{"GPU", 2}}, {{"GPU", {4, 7}}});
  auto a = pool.Acquire({{"GPU", 2}});
  ASSERT_TRUE(a);
  EXPECT_EQ((*a)["GPU"][0].first, 4);
  EXPECT_EQ((*a)["GPU"][1].first, 7);
}

TEST(ResourcePool, FractionsShareAUnitBestFit) {
  ResourcePool pool({{"GPU", 2}});
  auto a = pool.Acquire({{"GPU", 0.5}});
  auto b = pool.Acquire({{"GPU", 0.5}});
  ASSERT_TRUE(a && b);
  EXPECT_EQ((*a)["GPU"][0].first, (*b)["GPU"][0].first);
  EXPECT_TRUE(pool.Acquire({{"GPU", 1}}).has_value());  // the other unit stayed whole
}

TEST(ResourcePool, FailedAcquireTakesNothing) {
  ResourcePool pool({{"CPU", 2}, {"Custom", 1}});
  EXPECT_FALSE(pool.Acquire({{"CPU", 1}, {"Custom", 2}}).has_value());
  EXPECT_DOUBLE_EQ(pool.Available("CPU"), 2);
  EXPECT_DOUBLE_EQ(pool.Available("Custom"), 1);
}

TEST(ResourcePool, FeasibilityIsAgainstTotals) {
  ResourcePool pool({{"CPU", 2}});
  EXPECT_TRUE(pool.Feasible({{"CPU", 2}}));
  EXPECT_FALSE(pool.Feasible({{"CPU", 3}}));
  EXPECT_FALSE(pool.Feasible({{"Missing", 1}}));
  auto all = pool.Acquire({{"CPU", 2}});
  EXPECT_TRUE(pool.Feasible({{"CPU", 2}}));  // busy, but still feasible
}
