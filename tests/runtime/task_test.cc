// Tasks, arguments and objects: the behaviours of Ray's C++ API tests.
#include <gtest/gtest.h>

#include <chrono>
#include <ray/api.h>

#include <numeric>

#include "tests/runtime/cluster_fixture.h"
#include "tests/runtime/test_functions.h"

using TaskTest = ClusterTest;

TEST_F(TaskTest, PutThenGetReturnsTheValue) {
  auto ref = ray::Put(12345);
  EXPECT_EQ(*ray::Get(ref), 12345);
  auto text = ray::Put(std::string("text"));
  EXPECT_EQ(*text.Get(), "text");
}

TEST_F(TaskTest, TaskResultIsReturned) {
  EXPECT_EQ(*ray::Get(ray::Task(Return1).Remote()), 1);
  EXPECT_EQ(*ray::Get(ray::Task(Plus).Remote(2, 3)), 5);
  EXPECT_EQ(*ray::Get(ray::Task(Concat).Remote(std::string("a"), std::string("b"))), "ab");
}

TEST_F(TaskTest, ObjectRefArgumentsAreResolved) {
  auto one = ray::Task(Return1).Remote();
  auto two = ray::Task(Plus1).Remote(one);
  auto put = ray::Put(10);
  auto sum = ray::Task(Plus).Remote(two, put);
  EXPECT_EQ(*ray::Get(sum), 12);
}

TEST_F(TaskTest, ObjectRefParameterReceivesTheRefItself) {
  auto inner = ray::Put(5);
  EXPECT_EQ(*ray::Get(ray::Task(GetInner).Remote(inner)), 105);
}

TEST_F(TaskTest, VectorOfRefsIsPassedAndResolvedInTheTask) {
  std::vector<ray::ObjectRef<int>> refs;
  for (int i = 0; i < 10; ++i) refs.push_back(ray::Task(Plus1).Remote(i));
  EXPECT_EQ(*ray::Get(ray::Task(SumRefs).Remote(refs)), 55);
}

TEST_F(TaskTest, NestedRefInsideAnObjectSurvivesPutAndGet) {
  auto inner = ray::Put(7);
  auto outer = ray::Put(std::vector<ray::ObjectRef<int>>{inner, inner});
  auto refs = *ray::Get(outer);
  ASSERT_EQ(refs.size(), 2u);
  EXPECT_EQ(*ray::Get(refs[1]), 7);
}

TEST_F(TaskTest, VoidFunctionCompletes) {
  ray::ObjectRef<void> done = ray::Task(NoReturn).Remote(3);
  EXPECT_NO_THROW(ray::Get(done));
}

TEST_F(TaskTest, ReferenceAndConstReferenceParameters) {
  EXPECT_EQ(*ray::Get(ray::Task(ByRef).Remote(4)), 5);
  EXPECT_EQ(*ray::Get(ray::Task(ByConstRef).Remote(4)), 8);
}

TEST_F(TaskTest, OverloadsAreCalledByTheirSignature) {
  EXPECT_EQ(*ray::Get(ray::Task(RAY_FUNC(Overload, int)).Remote(6)), 6);
  EXPECT_EQ(*ray::Get(ray::Task(RAY_FUNC(Overload, int, int)).Remote(6, 7)), 42);
}

TEST_F(TaskTest, HundredThousandElementArrayThroughPutGetAndTask) {
  std::vector<int> values(100000);
  std::iota(values.begin(), values.end(), 0);
  auto ref = ray::Put(values);
  EXPECT_EQ(*ray::Get(ref), values);
  int expected = static_cast<int>(int64_t{99999} * 100000 / 2);
  EXPECT_EQ(*ray::Get(ray::Task(SumVector).Remote(ref)), expected);
  EXPECT_EQ(*ray::Get(ray::Task(SumVector).Remote(values)), expected);
}

TEST_F(TaskTest, GetOfManyRefsKeepsOrder) {
  std::vector<ray::ObjectRef<int>> refs;
  for (int i = 0; i < 50; ++i) refs.push_back(ray::Task(Plus1).Remote(i));
  auto values = ray::Get(refs);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(*values[i], i + 1);
}

TEST_F(TaskTest, WaitReturnsAllThreeWhenReady) {
  std::vector<ray::ObjectRef<int>> refs{ray::Task(Plus1).Remote(1), ray::Task(Plus1).Remote(2),
                                        ray::Put(3)};
  auto result = ray::Wait(refs, 3, 5000);
  EXPECT_EQ(result.ready.size(), 3u);
  EXPECT_TRUE(result.unready.empty());
  EXPECT_EQ(result.ready[0], refs[0]);  // input order kept
  EXPECT_EQ(result.ready[2], refs[2]);
}

TEST_F(TaskTest, WaitLeavesABlockedTaskUnready) {
  auto fast = ray::Put(1);
  auto slow = ray::Task(SleepMs).Remote(3000);
  std::vector<ray::ObjectRef<int>> refs{slow, fast};
  auto result = ray::Wait(refs, 2, 300);
  ASSERT_EQ(result.ready.size(), 1u);
  EXPECT_EQ(result.ready[0], fast);
  ASSERT_EQ(result.unready.size(), 1u);
  EXPECT_EQ(result.unready[0], slow);
}

TEST_F(TaskTest, WaitCombinesKnownReadyAndPendingObjects) {
  auto known = ray::Put(1);                     // this process already has it
  auto pending = ray::Task(SleepMs).Remote(400);
  std::vector<ray::ObjectRef<int>> refs{pending, known};
  auto early = ray::Wait(refs, 2, 50);
  ASSERT_EQ(early.ready.size(), 1u);
  EXPECT_EQ(early.ready[0], known);
  auto both = ray::Wait(refs, 2, 10000);
  EXPECT_EQ(both.ready.size(), 2u);
  EXPECT_EQ(both.ready[0], pending);  // input order
  auto one = ray::Wait(refs, 1, 0);   // more are ready than asked: exactly one reported
  EXPECT_EQ(one.ready.size(), 1u);
  EXPECT_EQ(one.unready.size(), 1u);
}

TEST_F(TaskTest, WaitRejectsDuplicateRefs) {
  auto a = ray::Put(1);
  std::vector<ray::ObjectRef<int>> refs{a, a};
  EXPECT_THROW(ray::Wait(refs, 1, 100), ray::RayException);
}

TEST_F(TaskTest, GetTimesOut) {
  auto slow = ray::Task(SleepMs).Remote(3000);
  EXPECT_THROW(ray::Get(slow, 100), ray::RayTimeoutException);
}

TEST_F(TaskTest, LongGetTimeoutsAreHonouredExactly) {
  // A driver's Get first waits for its raylet's push of the result (up to 2 s),
  // then asks the object manager for the time left: both bounds must hold.
  using Clock = std::chrono::steady_clock;
  auto done_late = ray::Task(SleepMs).Remote(2600);
  EXPECT_EQ(*ray::Get(done_late, 6000), 2600);  // arrives after the push wait, before the timeout
  auto never = ray::Task(SleepMs).Remote(6000);
  const auto start = Clock::now();
  EXPECT_THROW(ray::Get(never, 2500), ray::RayTimeoutException);
  const double waited = std::chrono::duration<double>(Clock::now() - start).count();
  EXPECT_GE(waited, 2.4);
  EXPECT_LT(waited, 4.0);
}

TEST_F(TaskTest, TasksSubmitTasksAndGetTheirResults) {
  // Depth 5 on 2 CPUs only finishes if blocked tasks lend their CPU out.
  EXPECT_EQ(*ray::Get(ray::Task(NestedSum).Remote(5), 30000), 15);
}

TEST_F(TaskTest, MultipleReturnsAreSeparateObjects) {
  auto [number, text] = ray::Task(TwoValues).SetNumReturns<2>().Remote(9);
  EXPECT_EQ(*ray::Get(number), 9);
  EXPECT_EQ(*ray::Get(text), "9");
  EXPECT_NE(number.ID(), text.ID());
}

TEST_F(TaskTest, TaskNameAppearsInErrors) {
  auto ref = ray::Task(Throws).SetName("named-task").Remote(1);
  try {
    ray::Get(ref);
    FAIL() << "expected RayTaskException";
  } catch (const ray::RayTaskException& e) {
    EXPECT_EQ(e.task_name(), "named-task");
  }
}
