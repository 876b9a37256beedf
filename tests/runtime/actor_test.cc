// Actors: state, ordering, names, handles as values, failures, kill, restarts.
#include <gtest/gtest.h>
#include <ray/api.h>

#include "tests/runtime/cluster_fixture.h"
#include "tests/runtime/test_functions.h"

#include <cstdlib>

using ActorTest = ClusterTest;

namespace {

/// Says whether it is a restart, as its constructor and its methods see it.
class RestartAware {
 public:
  static RestartAware* Create() { return new RestartAware(ray::WasCurrentActorRestarted()); }
  explicit RestartAware(bool in_constructor) : in_constructor_(in_constructor) {}
  std::vector<bool> Restarted() const { return {in_constructor_, ray::WasCurrentActorRestarted()}; }
  int Crash() { std::abort(); }

 private:
  bool in_constructor_;
};

bool RestartedInATask() { return ray::WasCurrentActorRestarted(); }

RAY_REMOTE(RestartAware::Create, &RestartAware::Restarted, &RestartAware::Crash, RestartedInATask);

}  // namespace

TEST_F(ActorTest, SequentialCallsSeeTheState) {
  auto counter = ray::Actor(Counter::Create).Remote(0);
  auto r1 = counter.Task(&Counter::Add).Remote(1);
  auto r2 = counter.Task(&Counter::Add).Remote(2);
  auto r3 = counter.Task(&Counter::Add).Remote(3);
  auto r4 = counter.Task(&Counter::Add).Remote(6);
  EXPECT_EQ(*ray::Get(r1), 1);
  EXPECT_EQ(*ray::Get(r2), 3);
  EXPECT_EQ(*ray::Get(r3), 6);
  EXPECT_EQ(*ray::Get(r4), 12);
}

TEST_F(ActorTest, CallsRunInSubmissionOrder) {
  auto counter = ray::Actor(Counter::Create).Remote(0);
  std::vector<ray::ObjectRef<int>> refs;
  for (int i = 0; i < 200; ++i) refs.push_back(counter.Task(&Counter::Add).Remote(1));
  auto values = ray::Get(refs);
  for (int i = 0; i < 200; ++i) ASSERT_EQ(*values[i], i + 1);
}

TEST_F(ActorTest, ObjectRefArgumentsOfCallsAreResolved) {
  auto counter = ray::Actor(Counter::Create).Remote(10);
  auto slow = ray::Task(SleepMs).Remote(200);
  auto r1 = counter.Task(&Counter::Add).Remote(slow);
  auto r2 = counter.Task(&Counter::Add).Remote(1);  // waits behind r1
  EXPECT_EQ(*ray::Get(r2), 211);
  EXPECT_EQ(*ray::Get(r1), 210);
}

TEST_F(ActorTest, ConstMethodAndMultipleReturns) {
  auto counter = ray::Actor(Counter::Create).Remote(4);
  EXPECT_EQ(*ray::Get(counter.Task(&Counter::Get).Remote()), 4);
  auto [pos, neg] = counter.Task(&Counter::Pair).SetNumReturns<2>().Remote();
  EXPECT_EQ(*ray::Get(pos), 4);
  EXPECT_EQ(*ray::Get(neg), -4);
}

TEST_F(ActorTest, NamedActorIsFoundAndMissingOneIsNot) {
  auto counter = ray::Actor(Counter::Create).SetName("the-counter").Remote(5);
  auto found = ray::GetActor<Counter>("the-counter");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(*ray::Get(found->Task(&Counter::Add).Remote(1)), 6);
  EXPECT_FALSE(ray::GetActor<Counter>("no-such-actor").has_value());
}

TEST_F(ActorTest, DuplicateNameIsRefused) {
  ray::Actor(Counter::Create).SetName("dup").Remote(1);
  EXPECT_THROW(ray::Actor(Counter::Create).SetName("dup").Remote(2), ray::RayException);
}

TEST_F(ActorTest, HandlePassedToATask) {
  auto counter = ray::Actor(Counter::Create).Remote(100);
  EXPECT_EQ(*ray::Get(ray::Task(CallCounter).Remote(counter, 5)), 105);
  EXPECT_EQ(*ray::Get(counter.Task(&Counter::Get).Remote()), 105);
}

TEST_F(ActorTest, HandleReturnedFromATask) {
  auto handle_ref = ray::Task(MakeCounter).Remote(7);
  ray::ActorHandle<Counter> counter = *ray::Get(handle_ref);
  EXPECT_EQ(*ray::Get(counter.Task(&Counter::Add).Remote(3)), 10);
}

TEST_F(ActorTest, ConstructorThatThrowsFailsCalls) {
  auto broken = ray::Actor(Counter::CreateThrowing).Remote(3);
  auto ref = broken.Task(&Counter::Get).Remote();
  try {
    ray::Get(ref, 20000);
    FAIL() << "expected RayActorException";
  } catch (const ray::RayActorException& e) {
    EXPECT_NE(std::string(e.what()).find("constructor failed for 3"), std::string::npos) << e.what();
  }
}

TEST_F(ActorTest, KilledActorFailsLaterCalls) {
  // A call made after Kill returned must not reach the worker before the
  // kill does (it did in about half the runs when calls went direct).
  for (int i = 0; i < 10; ++i) {
    auto counter = ray::Actor(Counter::Create).Remote(0);
    EXPECT_EQ(*ray::Get(counter.Task(&Counter::Add).Remote(1)), 1);
    counter.Kill();
    try {
      ray::Get(counter.Task(&Counter::Add).Remote(1), 20000);
      ADD_FAILURE() << "run " << i << ": a call on a killed actor succeeded";
    } catch (const ray::RayActorException& e) {
      EXPECT_NE(std::string(e.what()).find("killed"), std::string::npos) << e.what();
    }
  }
}

TEST_F(ActorTest, KilledNamedActorIsNoLongerFound) {
  auto counter = ray::Actor(Counter::Create).SetName("short-lived").Remote(0);
  ray::Get(counter.Task(&Counter::Get).Remote());
  counter.Kill();
  EXPECT_THROW(ray::Get(counter.Task(&Counter::Get).Remote(), 20000), ray::RayActorException);
  EXPECT_FALSE(ray::GetActor<Counter>("short-lived").has_value());
}

TEST_F(ActorTest, RestartsWithMaxRestartsRunConstructorAgain) {
  auto counter = ray::Actor(Counter::Create).SetMaxRestarts(1).Remote(50);
  EXPECT_EQ(*ray::Get(counter.Task(&Counter::Add).Remote(1)), 51);
  int pid1 = *ray::Get(counter.Task(&Counter::GetPid).Remote());
  auto crash = counter.Task(&Counter::Crash).Remote();
  EXPECT_THROW(ray::Get(crash, 20000), ray::RayActorException);
  // The constructor ran again in a new process: state is back to 50.
  EXPECT_EQ(*ray::Get(counter.Task(&Counter::Add).Remote(1), 20000), 51);
  EXPECT_NE(*ray::Get(counter.Task(&Counter::GetPid).Remote()), pid1);
  // The only restart is used up: the next crash is final.
  EXPECT_THROW(ray::Get(counter.Task(&Counter::Crash).Remote(), 20000), ray::RayActorException);
  EXPECT_THROW(ray::Get(counter.Task(&Counter::Get).Remote(), 20000), ray::RayActorException);
}

TEST_F(ActorTest, WasCurrentActorRestartedIsTrueOnlyInARestartedInstance) {
  EXPECT_FALSE(ray::WasCurrentActorRestarted()) << "a driver";
  EXPECT_FALSE(*ray::Get(ray::Task(RestartedInATask).Remote()));
  auto actor = ray::Actor(RestartAware::Create).SetMaxRestarts(1).Remote();
  EXPECT_EQ(*ray::Get(actor.Task(&RestartAware::Restarted).Remote()),
            (std::vector<bool>{false, false}));
  EXPECT_THROW(ray::Get(actor.Task(&RestartAware::Crash).Remote(), 20000), ray::RayActorException);
  EXPECT_EQ(*ray::Get(actor.Task(&RestartAware::Restarted).Remote(), 20000),
            (std::vector<bool>{true, true}))
      << "in its constructor and its methods";
}

TEST_F(ActorTest, PendingCallsWithRetriesRunOnTheRestartedActor) {
  auto counter = ray::Actor(Counter::Create).SetMaxRestarts(1).Remote(50);
  EXPECT_EQ(*ray::Get(counter.Task(&Counter::Add).Remote(1)), 51);
  auto crash = counter.Task(&Counter::Crash).Remote();
  // Both wait behind the crashing call when the process dies.
  auto retried = counter.Task(&Counter::Add).SetMaxRetries(1).Remote(2);
  auto not_retried = counter.Task(&Counter::Add).Remote(3);
  EXPECT_THROW(ray::Get(crash, 20000), ray::RayActorException);
  EXPECT_EQ(*ray::Get(retried, 20000), 52);  // the new instance starts again at 50
  EXPECT_THROW(ray::Get(not_retried, 20000), ray::RayActorException);
}

TEST_F(ActorTest, KillWithoutNoRestartRestarts) {
  auto counter = ray::Actor(Counter::Create).SetMaxRestarts(1).Remote(1);
  EXPECT_EQ(*ray::Get(counter.Task(&Counter::Add).Remote(1)), 2);
  counter.Kill(/*no_restart=*/false);
  EXPECT_EQ(*ray::Get(counter.Task(&Counter::Add).Remote(1), 20000), 2);
}

TEST_F(ActorTest, ExitActorEndsTheActor) {
  auto counter = ray::Actor(Counter::Create).SetMaxRestarts(3).Remote(8);
  EXPECT_EQ(*ray::Get(counter.Task(&Counter::Exit).Remote()), 8);
  try {
    ray::Get(counter.Task(&Counter::Get).Remote(), 20000);
    ADD_FAILURE() << "a call on an actor that exited succeeded";
  } catch (const ray::RayActorException& e) {
    EXPECT_NE(std::string(e.what()).find("ExitActor"), std::string::npos) << e.what();
  }
}

TEST_F(ActorTest, EachActorHasItsOwnProcess) {
  auto a = ray::Actor(Counter::Create).Remote(0);
  auto b = ray::Actor(Counter::Create).Remote(0);
  EXPECT_NE(*ray::Get(a.Task(&Counter::GetPid).Remote()), *ray::Get(b.Task(&Counter::GetPid).Remote()));
}
