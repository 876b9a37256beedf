// Bad input and failures: each gives a clear error, never a crash or a hang.
#include <gtest/gtest.h>
#include <ray/api.h>
#include <unistd.h>

#include "tests/runtime/cluster_fixture.h"
#include "tests/runtime/test_functions.h"

using FailureTest = ClusterTest;

int NotRegistered(int x) { return x; }

TEST_F(FailureTest, TaskExceptionTypeAndMessageReachGet) {
  auto ref = ray::Task(Throws).Remote(42);
  try {
    ray::Get(ref);
    FAIL() << "expected RayTaskException";
  } catch (const ray::RayTaskException& e) {
    EXPECT_EQ(e.exception_type(), "std::invalid_argument");
    EXPECT_EQ(e.user_message(), "bad input 42");
    EXPECT_EQ(e.task_name(), "Throws");
    EXPECT_NE(std::string(e.what()).find("bad input 42"), std::string::npos);
  }
}

TEST_F(FailureTest, ErrorPropagatesToDependentTasks) {
  auto failed = ray::Task(Throws).Remote(1);
  auto dependent = ray::Task(Plus1).Remote(failed);
  EXPECT_THROW(ray::Get(dependent), ray::RayTaskException);
}

TEST_F(FailureTest, UnregisteredFunctionIsRejectedAtSubmission) {
  try {
    ray::Task(NotRegistered).Remote(1);
    FAIL() << "expected RayException";
  } catch (const ray::RayException& e) {
    EXPECT_NE(std::string(e.what()).find("RAY_REMOTE"), std::string::npos) << e.what();
  }
}

TEST_F(FailureTest, WorkerThatAbortsFailsWithWorkerException) {
  auto ref = ray::Task(Abort).SetMaxRetries(1).Remote(0);
  try {
    ray::Get(ref, 30000);
    FAIL() << "expected RayWorkerException";
  } catch (const ray::RayWorkerException& e) {
    EXPECT_NE(std::string(e.what()).find("died"), std::string::npos) << e.what();
  }
  // The node carries on.
  EXPECT_EQ(*ray::Get(ray::Task(Plus1).Remote(1), 10000), 2);
}

TEST_F(FailureTest, TaskIsRetriedWhenItsWorkerDies) {
  std::string marker = "/tmp/ray-tests-crash-once-" + std::to_string(getpid());
  unlink(marker.c_str());
  auto ref = ray::Task(CrashOnce).Remote(marker);
  EXPECT_EQ(*ray::Get(ref, 30000), 2);  // second attempt
  unlink(marker.c_str());
}

TEST_F(FailureTest, UserExceptionIsNotRetriedUnlessAsked) {
  std::string marker = "/tmp/ray-tests-throw-once-" + std::to_string(getpid());
  unlink(marker.c_str());
  EXPECT_THROW(ray::Get(ray::Task(ThrowOnce).Remote(marker)), ray::RayTaskException);
  unlink(marker.c_str());
  EXPECT_EQ(*ray::Get(ray::Task(ThrowOnce).SetRetryExceptions(true).Remote(marker)), 2);
  unlink(marker.c_str());
}

TEST_F(FailureTest, ObjectLargerThanTheStoreIsRefused) {
  std::vector<char> big(size_t{300} << 20, 'x');  // store is 256 MiB
  try {
    ray::Put(big);
    FAIL() << "expected RayObjectStoreFullException";
  } catch (const ray::RayObjectStoreFullException& e) {
    EXPECT_NE(std::string(e.what()).find("larger than the object store"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(*ray::Get(ray::Put(1)), 1);  // still usable
}

TEST_F(FailureTest, StoreFullOfPinnedObjectsRefusesAPut) {
  std::vector<char> chunk(size_t{100} << 20, 'y');
  auto a = ray::Put(chunk);
  auto b = ray::Put(chunk);
  auto view_a = ray::GetView(a);  // pinned while the views live
  auto view_b = ray::GetView(b);
  EXPECT_THROW(ray::Put(chunk), ray::RayObjectStoreFullException);
  EXPECT_EQ(view_a.size(), chunk.size());
  EXPECT_EQ(view_b.data()[12345], 'y');  // pinned data intact
}

TEST_F(FailureTest, ReferencedObjectsAreNeverEvicted) {
  std::vector<char> chunk(size_t{100} << 20, 'z');
  auto a = ray::Put(chunk);
  auto b = ray::Put(chunk);
  EXPECT_THROW(ray::Put(chunk), ray::RayObjectStoreFullException);
  EXPECT_EQ(ray::GetView(a).data()[7], 'z');  // still there, intact
  EXPECT_EQ(ray::GetView(b).size(), chunk.size());
}

TEST_F(FailureTest, DroppedObjectsAreEvictedToMakeRoom) {
  std::vector<char> chunk(size_t{100} << 20, 'w');
  for (int i = 0; i < 6; ++i) {
    auto ref = ray::Put(chunk);  // dropped at the end of each iteration
    EXPECT_EQ(ray::GetView(ref).size(), chunk.size());
  }
  auto kept = ray::Put(chunk);
  EXPECT_EQ(ray::GetView(kept).data()[0], 'w');
}

TEST(FailureNoCluster, GetAfterShutdownIsAClearError) {
  ray::RayConfig config;
  config.num_cpus = 1;
  config.object_store_memory = int64_t{64} << 20;
  ray::Init(config);
  auto ref = ray::Put(1);
  ray::Shutdown();
  try {
    ray::Get(ref);
    FAIL() << "expected RayException";
  } catch (const ray::RayException& e) {
    EXPECT_NE(std::string(e.what()).find("ray::Init"), std::string::npos) << e.what();
  }
}
