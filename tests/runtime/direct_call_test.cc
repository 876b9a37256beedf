// Direct actor calls: once an actor on the driver's node is alive, the driver
// calls its worker without the raylet. These tests check what a user sees
// stays the same: order, arguments, sharing results, failures, memory.
#include <gtest/gtest.h>
#include <ray/api.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "tests/runtime/cluster_fixture.h"
#include "tests/runtime/test_functions.h"
#include "tests/storage/temp_dir.h"
#include "tests/common/wait_until.h"

namespace {

using ray::test::WaitUntil;

/// Counter's calls that the tests of a worker killed during a call use, and
/// one that says when it runs: it creates the file `marker`, then sleeps. The
/// test waits for the marker, so the kill comes while that call runs.
class MarkingCounter {
 public:
  explicit MarkingCounter(int start) : value_(start) {}
  static MarkingCounter* Create(int start) { return new MarkingCounter(start); }
  int Add(int x) { return value_ += x; }
  int Get() const { return value_; }
  int GetPid() const { return getpid(); }
  int MarkThenSleep(std::string marker, int ms) const {
    if (FILE* f = std::fopen(marker.c_str(), "w")) std::fclose(f);
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return value_;
  }

 private:
  int value_;
};

RAY_REMOTE(MarkingCounter::Create, &MarkingCounter::Add, &MarkingCounter::Get,
           &MarkingCounter::GetPid, &MarkingCounter::MarkThenSleep);

bool Exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

/// A counter from a stats line ("name=value ..."), or -1.
int64_t StatsCounter(const std::string& stats, const std::string& name) {
  const std::string key = name + "=";
  size_t at = stats.find(key);
  if (at == std::string::npos) return -1;
  return std::stoll(stats.substr(at + key.size()));
}

int64_t DirectCallsSent() {
  return StatsCounter(ray::internal::RuntimeStats(), "direct_calls_sent");
}

/// An actor whose calls already go direct.
ray::ActorHandle<Counter> WarmCounter(int start) {
  auto counter = ray::Actor(Counter::Create).Remote(start);
  ray::Get(counter.Task(&Counter::Get).Remote());  // alive now
  ray::Get(counter.Task(&Counter::Get).Remote());
  return counter;
}

}  // namespace

using DirectCallTest = ClusterTest;

TEST_F(DirectCallTest, CallsToALocalActorGoStraightToItsWorker) {
  auto counter = WarmCounter(0);
  const int64_t before = DirectCallsSent();
  for (int i = 1; i <= 20; ++i) EXPECT_EQ(*ray::Get(counter.Task(&Counter::Add).Remote(1)), i);
  // Only by-value calls after the first answer: all of these went direct.
  EXPECT_EQ(DirectCallsSent() - before, 20);
}

TEST_F(DirectCallTest, OrderHoldsWhileCallsSwitchBetweenPaths) {
  auto counter = WarmCounter(0);
  auto one = ray::Put(1);
  std::vector<ray::ObjectRef<int>> refs;
  std::vector<int> expected;  // the running sum each call must return
  int sum = 0;
  for (int i = 0; i < 300; ++i) {
    if (i % 7 == 3) {
      refs.push_back(counter.Task(&Counter::Add).Remote(one));  // a ref: through the raylet
      sum += 1;
    } else if (i % 61 == 10) {
      // An argument that takes a while: the calls after it wait behind it.
      refs.push_back(counter.Task(&Counter::Add).Remote(ray::Task(SleepMs).Remote(40)));
      sum += 40;
    } else {
      refs.push_back(counter.Task(&Counter::Add).Remote(1));
      sum += 1;
    }
    expected.push_back(sum);
    if (i % 50 == 49) ASSERT_EQ(*ray::Get(refs.back()), sum);
  }
  auto values = ray::Get(refs);
  for (size_t i = 0; i < values.size(); ++i) {
    ASSERT_EQ(*values[i], expected[i]) << "call " << i << " ran out of order";
  }
}

TEST_F(DirectCallTest, ResultsCanBePassedOnWhetherOrNotTheyArrived) {
  auto counter = WarmCounter(10);
  // Passed on before it arrives: the raylet gets it from the store.
  auto early = counter.Task(&Counter::SleepThenGet).Remote(100);
  auto plus_early = ray::Task(Plus1).Remote(early);
  // Passed on after the driver has read it.
  auto late = counter.Task(&Counter::Add).Remote(5);
  EXPECT_EQ(*ray::Get(late), 15);
  auto plus_late = ray::Task(Plus1).Remote(late);
  EXPECT_EQ(*ray::Get(plus_early), 11);
  EXPECT_EQ(*ray::Get(plus_late), 16);
  // Nested in a value: the task reads them itself.
  auto a = counter.Task(&Counter::Add).Remote(1);
  auto b = counter.Task(&Counter::SleepThenGet).Remote(50);
  std::vector<ray::ObjectRef<int>> both{a, b};
  EXPECT_EQ(*ray::Get(ray::Task(SumRefs).Remote(both)), 32);
  // And to another actor, by ref.
  auto other = WarmCounter(100);
  EXPECT_EQ(*ray::Get(other.Task(&Counter::Add).Remote(a)), 116);
}

TEST_F(DirectCallTest, WaitSeesDirectResults) {
  auto counter = WarmCounter(0);
  std::vector<ray::ObjectRef<int>> refs;
  for (int i = 0; i < 10; ++i) refs.push_back(counter.Task(&Counter::Add).Remote(1));
  auto result = ray::Wait(refs, 10, 20000);
  EXPECT_EQ(result.ready.size(), 10u);
  EXPECT_TRUE(result.unready.empty());
  // Not finished within the timeout: reported unready, then ready.
  auto slow = counter.Task(&Counter::SleepThenGet).Remote(500);
  auto first = ray::Wait(std::vector<ray::ObjectRef<int>>{slow}, 1, 50);
  EXPECT_EQ(first.ready.size(), 0u);
  auto second = ray::Wait(std::vector<ray::ObjectRef<int>>{slow}, 1, 20000);
  EXPECT_EQ(second.ready.size(), 1u);
  EXPECT_EQ(*ray::Get(slow), 10);
}

TEST_F(DirectCallTest, LargeResultsAreReadFromSharedMemory) {
  auto counter = WarmCounter(7);
  auto blob = counter.Task(&Counter::Blob).Remote(int64_t{3} << 20);
  auto bytes = ray::Get(blob);
  ASSERT_EQ(bytes->size(), size_t{3} << 20);
  EXPECT_EQ((*bytes)[0], 7);
  EXPECT_EQ((*bytes)[bytes->size() - 1], 7);
  // Readable by a task as well.
  EXPECT_EQ(*ray::Get(ray::Task(SumBytes).Remote(blob)), int64_t{7} * (int64_t{3} << 20));
}

TEST_F(DirectCallTest, DroppedResultsLeaveNothingInTheStore) {
  auto counter = WarmCounter(0);
  const int64_t before = StatsCounter(ray::internal::ObjectStoreStats(), "objects");
  for (int i = 0; i < 500; ++i) ray::Get(counter.Task(&Counter::Add).Remote(1));
  // Results that were never shared never reached the store.
  const int64_t after = StatsCounter(ray::internal::ObjectStoreStats(), "objects");
  EXPECT_LE(after, before + 2) << "before=" << before;
  EXPECT_EQ(*ray::Get(counter.Task(&Counter::Get).Remote()), 500);
}

TEST_F(DirectCallTest, WorkerKilledDuringACallFailsItInsteadOfHanging) {
  ray::storage::TempDir temp;  // removed with its contents when the test ends
  ASSERT_FALSE(temp.path().empty());
  const std::string marker = temp.path() + "/slow-call-started";
  auto counter = ray::Actor(MarkingCounter::Create).Remote(0);
  ray::Get(counter.Task(&MarkingCounter::Get).Remote());  // alive now
  ray::Get(counter.Task(&MarkingCounter::Get).Remote());  // direct from here on
  int pid = *ray::Get(counter.Task(&MarkingCounter::GetPid).Remote());
  auto slow = counter.Task(&MarkingCounter::MarkThenSleep).Remote(marker, 5000);
  auto behind = counter.Task(&MarkingCounter::Add).Remote(1);
  ASSERT_TRUE(WaitUntil([&] { return Exists(marker); })) << "the slow call never started";
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  auto started = std::chrono::steady_clock::now();
  EXPECT_THROW(ray::Get(slow, 20000), ray::RayActorException);
  EXPECT_THROW(ray::Get(behind, 20000), ray::RayActorException);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(4));
  // No restarts were allowed: later calls fail too.
  EXPECT_THROW(ray::Get(counter.Task(&MarkingCounter::Get).Remote(), 20000),
               ray::RayActorException);
}

TEST_F(DirectCallTest, CallsWithRetriesRunAgainOnTheRestartedActor) {
  ray::storage::TempDir temp;  // removed with its contents when the test ends
  ASSERT_FALSE(temp.path().empty());
  const std::string marker = temp.path() + "/slow-call-started";
  auto counter = ray::Actor(MarkingCounter::Create).SetMaxRestarts(1).Remote(50);
  ray::Get(counter.Task(&MarkingCounter::Get).Remote());
  EXPECT_EQ(*ray::Get(counter.Task(&MarkingCounter::Add).Remote(1)), 51);  // direct
  int pid = *ray::Get(counter.Task(&MarkingCounter::GetPid).Remote());
  auto slow = counter.Task(&MarkingCounter::MarkThenSleep).Remote(marker, 5000);
  auto retried = counter.Task(&MarkingCounter::Add).SetMaxRetries(1).Remote(2);
  ASSERT_TRUE(WaitUntil([&] { return Exists(marker); })) << "the slow call never started";
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  EXPECT_THROW(ray::Get(slow, 20000), ray::RayActorException);
  EXPECT_EQ(*ray::Get(retried, 20000), 52);  // on the new instance, which starts at 50
  // Calls go direct again to the new worker.
  const int64_t before = DirectCallsSent();
  for (int i = 0; i < 5; ++i) ray::Get(counter.Task(&MarkingCounter::Get).Remote(), 20000);
  EXPECT_GT(DirectCallsSent(), before);
  EXPECT_NE(*ray::Get(counter.Task(&MarkingCounter::GetPid).Remote()), pid);
}

TEST_F(DirectCallTest, ExitActorDuringDirectCallsEndsIt) {
  auto counter = WarmCounter(8);
  auto exit = counter.Task(&Counter::Exit).Remote();
  auto after = counter.Task(&Counter::Add).Remote(1);  // sent before the exit is known
  EXPECT_EQ(*ray::Get(exit), 8);
  EXPECT_THROW(ray::Get(after, 20000), ray::RayActorException);
  EXPECT_THROW(ray::Get(counter.Task(&Counter::Get).Remote(), 20000), ray::RayActorException);
}

TEST_F(DirectCallTest, ErrorsOfDirectCallsReachTheCallerAndTasks) {
  auto counter = WarmCounter(0);
  auto failed = counter.Task(&Counter::Blob).Remote(int64_t{-1});  // the vector cannot be made
  EXPECT_THROW(ray::Get(failed), ray::RayTaskException);
  // Passed on to a task, the error fails that task too.
  EXPECT_THROW(ray::Get(ray::Task(SumBytes).Remote(failed), 20000), ray::RayTaskException);
  EXPECT_EQ(*ray::Get(counter.Task(&Counter::Add).Remote(1)), 1);  // the actor lives on
}

TEST_F(DirectCallTest, RetriesOfACallThatKeepsCrashingRunOut) {
  auto counter = ray::Actor(Counter::Create).SetMaxRestarts(5).Remote(3);
  ray::Get(counter.Task(&Counter::Get).Remote());
  ray::Get(counter.Task(&Counter::Get).Remote());  // direct from here on
  // Direct run, then one retry through the raylet: both crash, so it fails.
  auto crash = counter.Task(&Counter::Crash).SetMaxRetries(1).Remote();
  EXPECT_THROW(ray::Get(crash, 30000), ray::RayActorException);
  // Two restarts used, three left: the actor serves calls again.
  EXPECT_EQ(*ray::Get(counter.Task(&Counter::Add).Remote(1), 30000), 4);
}
