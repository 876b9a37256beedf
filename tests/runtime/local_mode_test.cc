// local_mode: the same API, run serially in the driver process.
#include <gtest/gtest.h>
#include <ray/api.h>
#include <unistd.h>

#include "tests/runtime/test_functions.h"

class LocalModeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ray::RayConfig config;
    config.local_mode = true;
    ray::Init(config);
  }
  void TearDown() override { ray::Shutdown(); }
};

TEST_F(LocalModeTest, TasksRunInTheDriverProcess) {
  EXPECT_EQ(*ray::Get(ray::Task(Pid).Remote()), getpid());
  EXPECT_EQ(*ray::Get(ray::Task(Plus).Remote(ray::Task(Plus1).Remote(1), 3)), 5);
}

TEST_F(LocalModeTest, ActorsKeepStateAndFail) {
  auto counter = ray::Actor(Counter::Create).SetName("local").Remote(0);
  EXPECT_EQ(*ray::Get(counter.Task(&Counter::Add).Remote(1)), 1);
  EXPECT_EQ(*ray::Get(counter.Task(&Counter::Add).Remote(2)), 3);
  EXPECT_TRUE(ray::GetActor<Counter>("local").has_value());
  counter.Kill();
  EXPECT_THROW(ray::Get(counter.Task(&Counter::Get).Remote()), ray::RayActorException);
  auto broken = ray::Actor(Counter::CreateThrowing).Remote(1);
  EXPECT_THROW(ray::Get(broken.Task(&Counter::Get).Remote()), ray::RayActorException);
}

TEST_F(LocalModeTest, ExceptionsAndMultipleReturns) {
  EXPECT_THROW(ray::Get(ray::Task(Throws).Remote(1)), ray::RayTaskException);
  auto [a, b] = ray::Task(TwoValues).SetNumReturns<2>().Remote(3);
  EXPECT_EQ(*ray::Get(b), "3");
  EXPECT_EQ(*ray::Get(ray::Task(NestedSum).Remote(4)), 10);
  auto waited = ray::Wait(std::vector<ray::ObjectRef<int>>{a}, 1, 0);
  EXPECT_EQ(waited.ready.size(), 1u);
  // The same rules as on a cluster: exactly num_objects reported, bad input refused.
  auto c = ray::Put(5);
  auto one = ray::Wait(std::vector<ray::ObjectRef<int>>{a, c}, 1, 0);
  EXPECT_EQ(one.ready.size(), 1u);
  EXPECT_EQ(one.unready.size(), 1u);
  EXPECT_THROW(ray::Wait(std::vector<ray::ObjectRef<int>>{a, a}, 1, 0), ray::RayException);
  EXPECT_THROW(ray::Wait(std::vector<ray::ObjectRef<int>>{a}, 2, 0), ray::RayException);
}

TEST_F(LocalModeTest, NamesAreUniquePerNamespaceAndConcurrencyIsRefused) {
  EXPECT_EQ(ray::GetNamespace().rfind("anonymous-", 0), 0u) << ray::GetNamespace();
  auto mine = ray::Actor(Counter::Create).SetName("n").Remote(1);
  auto theirs = ray::Actor(Counter::Create).SetName("n", "other").Remote(2);
  EXPECT_THROW(ray::Actor(Counter::Create).SetName("n").Remote(3), ray::RayException);
  EXPECT_EQ(*ray::Get(ray::GetActor<Counter>("n")->Task(&Counter::Get).Remote()), 1);
  EXPECT_EQ(*ray::Get(ray::GetActor<Counter>("n", "other")->Task(&Counter::Get).Remote()), 2);
  EXPECT_FALSE(ray::GetActor<Counter>("n", "third"));
  try {
    ray::Actor(Counter::Create).SetMaxConcurrency(2).Remote(0);
    ADD_FAILURE() << "SetMaxConcurrency(2) was accepted in local mode, which runs calls serially";
  } catch (const ray::RayException& e) {
    EXPECT_NE(std::string(e.what()).find("local mode"), std::string::npos) << e.what();
  }
  (void)mine;
  (void)theirs;
}
