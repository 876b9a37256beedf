// Actor lifetimes, namespaces and max_concurrency on a real raynode: a
// detached actor outlives its driver (another process, lifetime_driver.cc)
// and a later job finds it by name; a non-detached one dies with its driver,
// and a child actor with the actor that created it; names are unique per
// namespace; SetMaxConcurrency(n) runs n calls at once.
#include <gtest/gtest.h>
#include <ray/api.h>

#include <signal.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/cli/cli_runner.h"
#include "tests/cluster/lifetime_actors.h"
#include "tests/cluster/node_process.h"
#include "tests/common/wait_until.h"

namespace {

using lifetime::Keeper;
using lifetime::Parent;
using lifetime::Rendezvous;
using ray::cli::testing::RunProgram;
using ray::cli::testing::RunResult;
using ray::test::NodeProcess;
using ray::test::WaitUntil;

class LifetimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(node_.Start({"--num-cpus", "2", "--object-store-memory", "100000000"}))
        << node_.log();
  }
  void TearDown() override {
    ray::Shutdown();
    node_.Stop();
  }
  void Connect(const std::string& ray_namespace) {
    ray::RayConfig config;
    config.address = node_.address();
    config.ray_namespace = ray_namespace;
    ray::Init(config);
  }
  /// Runs lifetime_driver; its "namespace <ns>" line's namespace.
  std::string RunDriver(const std::string& ray_namespace, const std::string& mode) {
    RunResult r = RunProgram({LIFETIME_DRIVER_PATH, node_.address(), ray_namespace, mode}, {});
    EXPECT_EQ(r.code, 0) << r.out << r.err;
    const std::string tag = "namespace ";
    size_t at = r.out.find(tag);
    if (at == std::string::npos) return "";
    return r.out.substr(at + tag.size(), r.out.find('\n', at) - at - tag.size());
  }

  NodeProcess node_;
};

/// The actor's answer to Add(0), or nullopt once calls to it fail as a dead actor's.
std::optional<int> Probe(const ray::ActorHandle<Keeper>& actor, std::string* error) {
  try {
    return *ray::Get(actor.Task(&Keeper::Add).Remote(0));
  } catch (const ray::RayActorException& e) {
    *error = e.what();
    return std::nullopt;
  }
}

TEST_F(LifetimeTest, ADetachedActorOutlivesItsDriverAndAnotherJobFindsItByName) {
  EXPECT_EQ(RunDriver("explicit", "set-lifetime"), "explicit");
  EXPECT_EQ(RunDriver("by-default", "default-detached"), "by-default");
  const std::string anonymous = RunDriver("", "set-lifetime");
  EXPECT_FALSE(anonymous.empty());
  Connect("explicit");
  // Both drivers have exited: their detached actors answer, with their state.
  auto keeper = ray::GetActor<Keeper>("keeper");
  ASSERT_TRUE(keeper) << "the detached actor did not outlive its driver";
  EXPECT_EQ(*ray::Get(keeper->Task(&Keeper::Add).Remote(1)), 6);
  EXPECT_EQ(*ray::Get(keeper->Task(&Keeper::Namespace).Remote()), "explicit");
  auto by_default = ray::GetActor<Keeper>("keeper", "by-default");
  ASSERT_TRUE(by_default) << "RayConfig::default_actor_lifetime = DETACHED was not honoured";
  EXPECT_EQ(*ray::Get(by_default->Task(&Keeper::Add).Remote(2)), 7);
  // An anonymous namespace is the job's own; named explicitly, it is found.
  EXPECT_NE(anonymous, ray::GetNamespace());
  auto in_anonymous = ray::GetActor<Keeper>("keeper", anonymous);
  ASSERT_TRUE(in_anonymous);
  EXPECT_EQ(*ray::Get(in_anonymous->Task(&Keeper::Add).Remote(0)), 5);
  // The non-detached ones died with their drivers, and freed their names.
  EXPECT_FALSE(ray::GetActor<Keeper>("mortal"));
  EXPECT_FALSE(ray::GetActor<Keeper>("mortal", "by-default"))
      << "SetLifetime(NON_DETACHED) did not override the default";
  // A detached actor lives until it is killed.
  for (auto& actor : {*keeper, *by_default, *in_anonymous}) actor.Kill();
  EXPECT_TRUE(WaitUntil([] { return !ray::GetActor<Keeper>("keeper"); }));
}

TEST_F(LifetimeTest, AChildActorDiesWithTheActorThatCreatedIt) {
  Connect("family");
  auto parent = ray::Actor(Parent::Create).Remote();
  auto child = *ray::Get(parent.Task(&Parent::MakeChild).Remote(false));
  auto detached = *ray::Get(parent.Task(&Parent::MakeChild).Remote(true));
  std::string error;
  EXPECT_EQ(Probe(child, &error), 10) << error;
  parent.Kill();
  // A call in flight at the death fails as the caller saw it ("its worker
  // process exited"); the next ones say why, from the raylet.
  ASSERT_TRUE(WaitUntil([&] { return !Probe(child, &error) && error.find("its owner") !=
                                                                   std::string::npos; },
                        std::chrono::seconds(10)))
      << "the child outlived its parent, or died of something else: " << error;
  EXPECT_EQ(Probe(detached, &error), 10) << "a detached child died with its parent: " << error;
  detached.Kill();
}

TEST_F(LifetimeTest, MaxConcurrencyRunsThatManyCallsAtOnce) {
  Connect("threads");
  auto threaded = ray::Actor(Rendezvous::Create).SetMaxConcurrency(3).Remote();
  std::vector<ray::ObjectRef<bool>> met;
  for (int i = 0; i < 3; ++i) met.push_back(threaded.Task(&Rendezvous::Meet).Remote(3, 20000));
  auto start = std::chrono::steady_clock::now();
  for (auto& m : met) EXPECT_TRUE(*ray::Get(m)) << "three calls did not run at once";
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(15));
  // The default is one call at a time: two calls cannot meet.
  auto serial = ray::Actor(Rendezvous::Create).Remote();
  auto first = serial.Task(&Rendezvous::Meet).Remote(2, 300);
  auto second = serial.Task(&Rendezvous::Meet).Remote(2, 300);
  EXPECT_FALSE(*ray::Get(first));
  EXPECT_TRUE(*ray::Get(second)) << "the second call ran before the first had returned";
  EXPECT_THROW(ray::Actor(Rendezvous::Create).SetMaxConcurrency(0).Remote(), ray::RayException);
}

TEST_F(LifetimeTest, NamesAreUniquePerNamespaceAndEveryTaskKnowsItsNamespace) {
  Connect("team-a");
  EXPECT_EQ(ray::GetNamespace(), "team-a");
  EXPECT_EQ(*ray::Get(ray::Task(lifetime::NamespaceOfTask).Remote()), "team-a");
  auto a = ray::Actor(Keeper::Create).SetName("x").Remote(1);
  auto b = ray::Actor(Keeper::Create).SetName("x", "team-b").Remote(2);
  EXPECT_THROW(ray::Actor(Keeper::Create).SetName("x").Remote(3), ray::RayException);
  EXPECT_THROW(ray::Actor(Keeper::Create).SetName("x", "team-b").Remote(3), ray::RayException);
  auto found_a = ray::GetActor<Keeper>("x");
  auto found_b = ray::GetActor<Keeper>("x", "team-b");
  ASSERT_TRUE(found_a && found_b);
  EXPECT_EQ(*ray::Get(found_a->Task(&Keeper::Add).Remote(0)), 1);
  EXPECT_EQ(*ray::Get(found_b->Task(&Keeper::Add).Remote(0)), 2);
  EXPECT_FALSE(ray::GetActor<Keeper>("x", "team-c"));
  EXPECT_THROW(ray::GetActor<Keeper>("x", ""), ray::RayException);
  // An actor's namespace is its creator's job's, wherever its name lives.
  EXPECT_EQ(*ray::Get(b.Task(&Keeper::Namespace).Remote()), "team-a");
  // A dead actor's name is free again, in its own namespace only.
  b.Kill();
  ASSERT_TRUE(WaitUntil([] { return !ray::GetActor<Keeper>("x", "team-b"); }));
  EXPECT_TRUE(ray::GetActor<Keeper>("x"));
  auto again = ray::Actor(Keeper::Create).SetName("x", "team-b").Remote(4);
  EXPECT_EQ(*ray::Get(again.Task(&Keeper::Add).Remote(0)), 4);
  (void)a;
}

TEST_F(LifetimeTest, CallsToAnActorWhoseProcessDiesFailInsteadOfHanging) {
  // The driver is attached to a raynode and calls the actor direct, through
  // the node: CAF sends it no down message when the worker dies behind it.
  Connect("crash");
  auto actor = ray::Actor(Keeper::Create).Remote(3);
  const int pid = *ray::Get(actor.Task(&Keeper::Pid).Remote());
  std::string error;
  EXPECT_EQ(Probe(actor, &error), 3) << error;
  auto pending = actor.Task(&Keeper::Add).Remote(0);
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  EXPECT_TRUE(WaitUntil([&] { return !Probe(actor, &error); }, std::chrono::seconds(10)));
  EXPECT_NE(error.find("died"), std::string::npos) << error;
  try {
    ray::Get(pending, 10000);
  } catch (const ray::RayActorException&) {
  } catch (const ray::RayTimeoutException& e) {
    ADD_FAILURE() << "a call pending at the death never failed: " << e.what();
  }
}

}  // namespace
