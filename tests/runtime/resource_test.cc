// Resources: isolation, infeasible requests, GPU ids, custom resources, max_calls.
#include <gtest/gtest.h>
#include <ray/api.h>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "tests/runtime/cluster_fixture.h"
#include "tests/runtime/test_functions.h"
#include "tests/common/wait_until.h"

namespace {

using ray::test::WaitUntil;

}  // namespace

class ResourceTest : public ClusterTest {
 protected:
  void Configure(ray::RayConfig& config) override {
    config.num_cpus = 2;
    config.num_gpus = 2;
    config.resources["Custom"] = 1;
  }
};

TEST_F(ResourceTest, AtMostNumCpusOneCpuTasksRunAtOnce) {
  constexpr int kTasks = 6, kSleepMs = 300;
  std::vector<ray::ObjectRef<int64_t>> refs;
  for (int i = 0; i < kTasks; ++i) refs.push_back(ray::Task(NowAfterSleepMs).Remote(kSleepMs));
  std::vector<int64_t> starts;
  for (const auto& v : ray::Get(refs)) starts.push_back(*v);
  // Count, for each start, how many tasks were running then.
  int max_running = 0;
  for (int64_t t : starts) {
    int running = 0;
    for (int64_t s : starts) running += (s <= t && t < s + kSleepMs) ? 1 : 0;
    max_running = std::max(max_running, running);
  }
  EXPECT_LE(max_running, 2);
  EXPECT_EQ(max_running, 2);  // and the two CPUs are both used
}

TEST_F(ResourceTest, CpuRequestLargerThanTheNodeStaysUnready) {
  auto ref = ray::Task(Return1).SetNumCpus(4).Remote();
  auto result = ray::Wait(std::vector<ray::ObjectRef<int>>{ref}, 1, 500);
  EXPECT_TRUE(result.ready.empty());
  // The node keeps working for feasible tasks.
  EXPECT_EQ(*ray::Get(ray::Task(Return1).Remote(), 10000), 1);
}

TEST_F(ResourceTest, GpuIdsAreAssignedAndVisibleDevicesSet) {
  auto one = ray::Task(GpuIds).SetNumGpus(1).Remote();
  auto ids = *ray::Get(one);
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_TRUE(ids[0] == 0 || ids[0] == 1);
  auto both = *ray::Get(ray::Task(GpuIds).SetNumGpus(2).Remote());
  std::sort(both.begin(), both.end());
  EXPECT_EQ(both, (std::vector<int>{0, 1}));
  EXPECT_EQ(*ray::Get(ray::Task(VisibleDevices).SetNumGpus(2).Remote()), "0,1");
  EXPECT_TRUE(ray::Get(ray::Task(GpuIds).Remote())->empty());
}

TEST_F(ResourceTest, ConcurrentGpuTasksGetDistinctIds) {
  auto a = ray::Task(GpuIdsAfterSleep).SetNumGpus(1).Remote(300);
  auto b = ray::Task(GpuIdsAfterSleep).SetNumGpus(1).Remote(300);
  auto ia = *ray::Get(a);
  auto ib = *ray::Get(b);
  ASSERT_EQ(ia.size(), 1u);
  ASSERT_EQ(ib.size(), 1u);
  EXPECT_NE(ia[0], ib[0]);
}

TEST_F(ResourceTest, ResourceIdsOfATaskIncludeCustomResources) {
  auto ids = *ray::Get(ray::Task(ResourceIdSummary).SetResource("Custom", 1).SetNumGpus(1).Remote());
  EXPECT_NE(ids.find("Custom:0/1"), std::string::npos) << ids;
  EXPECT_NE(ids.find("CPU:"), std::string::npos) << ids;
  EXPECT_NE(ids.find("GPU:"), std::string::npos) << ids;
}

TEST_F(ResourceTest, FractionalGpuRequestsShareOneId) {
  auto a = ray::Task(GpuIdsAfterSleep).SetNumGpus(0.5).Remote(300);
  auto b = ray::Task(GpuIdsAfterSleep).SetNumGpus(0.5).Remote(300);
  auto ia = *ray::Get(a);
  auto ib = *ray::Get(b);
  ASSERT_EQ(ia.size(), 1u);
  ASSERT_EQ(ib.size(), 1u);
  EXPECT_EQ(ia[0], ib[0]);
}

TEST_F(ResourceTest, CustomResourceLimitsConcurrency) {
  std::vector<ray::ObjectRef<int64_t>> refs;
  for (int i = 0; i < 3; ++i) {
    refs.push_back(ray::Task(NowAfterSleepMs).SetResource("Custom", 1).Remote(200));
  }
  std::vector<int64_t> starts;
  for (const auto& v : ray::Get(refs)) starts.push_back(*v);
  std::sort(starts.begin(), starts.end());
  for (size_t i = 1; i < starts.size(); ++i) EXPECT_GE(starts[i] - starts[i - 1], 190);
}

TEST_F(ResourceTest, DriverHoldsNoResourceIds) {
  EXPECT_TRUE(ray::GetResourceIds().empty());
  EXPECT_TRUE(ray::GetGpuIds().empty());
}

TEST_F(ResourceTest, MaxCallsReplacesTheWorker) {
  auto p1 = *ray::Get(ray::Task(Pid).SetMaxCalls(1).Remote());
  auto p2 = *ray::Get(ray::Task(Pid).SetMaxCalls(1).Remote());
  EXPECT_NE(p1, p2);
  // The first worker exits after its call (and the raylet reaps it): polled for.
  EXPECT_TRUE(WaitUntil([&] { return kill(p1, 0) == -1; })) << "worker " << p1 << " still runs";
}

// As Ray's CheckTaskOptions: bad amounts are refused at .Remote(), naming the option.
TEST_F(ResourceTest, BadResourceRequestsAreRefusedAtRemoteNamingTheOption) {
  auto refused = [](auto call, const std::string& expected) {
    try {
      call();
      ADD_FAILURE() << "accepted: " << expected;
    } catch (const ray::RayException& e) {
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
    }
  };
  refused([] { ray::Task(NowAfterSleepMs).SetNumCpus(-1).Remote(0); }, "num_cpus (SetNumCpus) = -1");
  refused([] { ray::Task(NowAfterSleepMs).SetNumGpus(std::nan("")).Remote(0); },
          "num_gpus (SetNumGpus) = nan is invalid: must be a finite number");
  refused([] { ray::Task(NowAfterSleepMs).SetResource("Custom", INFINITY).Remote(0); },
          "resource 'Custom' (SetResource) = inf");
  refused([] { ray::Task(NowAfterSleepMs).SetNumCpus(1.5).Remote(0); },
          "above 1 must be a whole number");
  refused([] { ray::Task(NowAfterSleepMs).SetResource("", 1).Remote(0); },
          "a resource name must not be empty");
  refused([] { ray::Actor(Counter::Create).SetNumGpus(-0.5).Remote(0); },
          "ray::Actor(...).Remote: num_gpus (SetNumGpus) = -0.5");
  refused([] { ray::Task(NowAfterSleepMs).SetResource("Custom", 0).Remote(0); },
          "resource 'Custom' (SetResource) = 0 is invalid: must be positive");
  // Fractions up to 1 and whole amounts are fine, and so is no CPU at all.
  EXPECT_GE(*ray::Get(ray::Task(NowAfterSleepMs).SetNumCpus(0.5).SetNumGpus(2).Remote(0)), 0);
  EXPECT_GE(*ray::Get(ray::Task(NowAfterSleepMs).SetNumCpus(0).Remote(0)), 0);
}
