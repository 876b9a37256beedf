// Objects whose owner dropped every ref are freed from the object store,
// unless a ref to them may live elsewhere (nested in another value) or a
// submitted task still needs them.
#include <gtest/gtest.h>
#include <ray/api.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/runtime/cluster_fixture.h"
#include "tests/runtime/test_functions.h"

namespace {

/// A counter from the object manager's stats line, e.g. Counter("objects").
int64_t StoreCounter(const std::string& name) {
  const std::string stats = ray::internal::ObjectStoreStats();
  const std::string key = name + "=";
  size_t at = stats.find(key);
  if (at == std::string::npos) return -1;
  return std::stoll(stats.substr(at + key.size()));
}

/// Polls until the store holds at most `limit` objects (frees travel
/// asynchronously through the raylet); returns the last count.
int64_t WaitForObjectsAtMost(int64_t limit) {
  int64_t objects = StoreCounter("objects");
  for (int i = 0; i < 200 && objects > limit; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    objects = StoreCounter("objects");
  }
  return objects;
}

}  // namespace

using ObjectGcTest = ClusterTest;

TEST_F(ObjectGcTest, DroppedObjectsAreFreed) {
  const int64_t before = StoreCounter("objects");
  ASSERT_GE(before, 0);
  for (int i = 0; i < 300; ++i) ray::Put(i);                              // dropped at once
  for (int i = 0; i < 100; ++i) EXPECT_EQ(*ray::Get(ray::Task(Plus1).Remote(i)), i + 1);
  { auto big = ray::Put(std::vector<char>(size_t{1} << 20, 'x')); }       // shared memory
  // 200 more, made and dropped inside a task by its worker.
  EXPECT_EQ(*ray::Get(ray::Task(PutAndDrop).Remote(200)), 200);
  EXPECT_LE(WaitForObjectsAtMost(before), before);
  EXPECT_GE(StoreCounter("freed"), 300 + 100 + 1 + 200 + 1);
}

TEST_F(ObjectGcTest, NestedRefsKeepTheirObjects) {
  // The worker puts 50 objects, returns refs to them and drops its own: the
  // refs nested in the result must still read.
  auto outer = ray::Task(PutMany).Remote(50);
  std::vector<ray::ObjectRef<int>> inner = *ray::Get(outer);
  outer = ray::ObjectRef<std::vector<ray::ObjectRef<int>>>();  // drop the container too
  ASSERT_EQ(inner.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(*ray::Get(inner[i], 10000), i);
  // Refs this driver nests in an argument stay readable by the task.
  std::vector<ray::ObjectRef<int>> mine;
  for (int i = 0; i < 20; ++i) mine.push_back(ray::Put(i));
  auto sum = ray::Task(SumRefs).Remote(mine);
  mine.clear();
  EXPECT_EQ(*ray::Get(sum, 10000), 190);
}

TEST_F(ObjectGcTest, ArgumentsOfPendingTasksOutliveTheirOwnersRefs) {
  // The only refs to the arguments are dropped right after submitting.
  auto later = ray::Task(Plus1).Remote(ray::Task(SleepMs).Remote(300));
  auto sum = ray::Task(SumVector).Remote(ray::Put(std::vector<int>(300000, 1)));  // 1.2 MB
  EXPECT_EQ(*ray::Get(later, 10000), 301);
  EXPECT_EQ(*ray::Get(sum, 10000), 300000);
}
