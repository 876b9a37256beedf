// DirectCalls' routing decisions: a fake transport plays the raylet (its
// answer to probes) and records every call sent, and the clock is a value.
#include "runtime/src/direct_calls.h"

#include <gtest/gtest.h>

#include "actors/common/ids.h"
#include "tests/runtime/core_fakes.h"

namespace ray::runtime {
namespace {

using testing::FakeOutbox;
using testing::FakeTransport;
using testing::FakeWorker;
using testing::InlineEntry;
using testing::Released;

const std::string kActor = "actor-1";

class DirectCallsTest : public ::testing::Test {
 protected:
  /// A by-value call `name` to kActor, one return ("<name>.r"), held by a ref.
  proto::TaskSpec Call(const std::string& name, int max_retries = 0) {
    proto::TaskSpec spec;
    spec.task_id = name;
    spec.actor_id = kActor;
    spec.kind = static_cast<uint8_t>(proto::TaskKind::kActorMethod);
    spec.function = "Counter::Add";
    spec.return_ids = {name + ".r"};
    spec.max_retries = max_retries;
    refs_.MarkSubmitted(spec.return_ids, /*await_push=*/true);
    refs_.AddLocalReference(spec.return_ids[0]);
    return spec;
  }
  proto::TaskSpec CallWithRefArg(const std::string& name) {
    proto::TaskSpec spec = Call(name);
    spec.args.push_back({true, "some-object", {}});
    return spec;
  }
  /// The raylet pushed the result of a call it ran.
  void RayletAnswers(const std::string& name) {
    calls_.OnRayletResults({InlineEntry(name + ".r", "v")});
  }
  bool WorkerAnswers(const std::string& name, bool exit_actor = false) {
    proto::ExecReply reply;
    reply.task_id = name;
    reply.exit_actor = exit_actor;
    reply.results = {InlineEntry(name + ".r", "v")};
    return calls_.OnDone(reply);
  }
  DirectCalls::WorkerDown WorkerDies(int number) {
    return calls_.OnWorkerDown([number](const DirectWorker& w) {
      return static_cast<const FakeWorker&>(w).number == number;
    });
  }
  /// Gets the route to kActor onto the direct path (worker 1).
  void GoDirect() {
    transport_.route = proto::ActorRoute::kDirect;
    calls_.Route(Call("first"));
    ASSERT_EQ(transport_.direct.size(), 1u);
  }
  std::vector<std::string> Submitted() const {
    std::vector<std::string> out;
    for (const auto& s : transport_.submitted) out.push_back(s.task_id);
    return out;
  }
  std::vector<std::string> SentDirect() const {
    std::vector<std::string> out;
    for (const auto& [worker, s] : transport_.direct) out.push_back(s.task_id);
    return out;
  }

  FakeOutbox outbox_;
  FakeTransport transport_;
  ReferenceCounter refs_{&outbox_, {/*spin_us=*/0, nullptr}};
  DirectCalls calls_{&transport_, &refs_};
};

TEST_F(DirectCallsTest, CallsGoThroughTheRayletUntilTheActorIsAlive) {
  calls_.Route(Call("a"));
  EXPECT_EQ(transport_.probes, std::vector<std::string>{kActor});
  EXPECT_EQ(Submitted(), std::vector<std::string>{"a"});
  EXPECT_TRUE(transport_.direct.empty());
}

TEST_F(DirectCallsTest, AliveActorIsCalledStraightAtItsMonitoredWorker) {
  GoDirect();
  EXPECT_EQ(transport_.monitored, std::vector<int>{1});
  calls_.Route(Call("second"));
  EXPECT_EQ(SentDirect(), (std::vector<std::string>{"first", "second"}));
  EXPECT_EQ(transport_.probes.size(), 1u);  // asked once
  EXPECT_TRUE(transport_.submitted.empty());
  EXPECT_EQ(calls_.sent(), 2u);
}

TEST_F(DirectCallsTest, SwitchesToDirectOnlyWhenEveryRayletCallReturned) {
  calls_.Route(Call("a"));  // not alive yet: via the raylet
  transport_.route = proto::ActorRoute::kDirect;
  calls_.Route(Call("b"));  // "a" unanswered: the raylet, without asking
  EXPECT_EQ(transport_.probes.size(), 1u);
  RayletAnswers("a");
  calls_.Route(Call("c"));  // "b" still unanswered: not even asked
  EXPECT_EQ(Submitted(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(transport_.probes.size(), 1u);
  RayletAnswers("b");
  RayletAnswers("c");
  calls_.Route(Call("d"));
  EXPECT_EQ(SentDirect(), std::vector<std::string>{"d"});
  EXPECT_EQ(transport_.probes.size(), 2u);
}

TEST_F(DirectCallsTest, ProbesAgainOnlyAfterItsBackoff) {
  transport_.route = proto::ActorRoute::kRaylet;  // on another node
  calls_.Route(Call("a"));
  RayletAnswers("a");
  calls_.Route(Call("b"));
  EXPECT_EQ(transport_.probes.size(), 1u);
  RayletAnswers("b");
  transport_.now += std::chrono::milliseconds(2000);
  calls_.Route(Call("c"));
  EXPECT_EQ(transport_.probes.size(), 2u);
}

TEST_F(DirectCallsTest, CallWithRefArgumentsGoesThroughTheRaylet) {
  GoDirect();
  WorkerAnswers("first");
  calls_.Route(CallWithRefArg("ref"));
  EXPECT_EQ(Submitted(), std::vector<std::string>{"ref"});
  calls_.Route(Call("after"));  // behind the raylet call: the raylet too
  EXPECT_EQ(Submitted(), (std::vector<std::string>{"ref", "after"}));
}

TEST_F(DirectCallsTest, RayletCallsWaitBehindUnansweredDirectCallsInOrder) {
  GoDirect();
  calls_.Route(CallWithRefArg("ref"));
  calls_.Route(Call("plain"));  // behind a held call: held too
  EXPECT_TRUE(transport_.submitted.empty());
  EXPECT_TRUE(WorkerAnswers("first"));
  EXPECT_EQ(Submitted(), (std::vector<std::string>{"ref", "plain"}));
}

TEST_F(DirectCallsTest, WorkerDeathRetriesUnansweredCallsThroughTheRayletInOrder) {
  transport_.route = proto::ActorRoute::kDirect;
  calls_.Route(Call("d1", /*max_retries=*/1));
  calls_.Route(Call("d2", /*max_retries=*/1));
  calls_.Route(CallWithRefArg("held"));
  DirectCalls::WorkerDown down = WorkerDies(1);
  EXPECT_EQ(Submitted(), (std::vector<std::string>{"d1", "d2", "held"}));
  EXPECT_EQ(transport_.submitted[0].attempts, 1);
  EXPECT_EQ(transport_.submitted[0].failed_worker, "worker-1");
  EXPECT_TRUE(down.failed.empty());
  EXPECT_TRUE(down.unreferenced.empty());  // the caller still holds their refs
  EXPECT_FALSE(WorkerAnswers("d1"));       // a late reply is dropped
}

TEST_F(DirectCallsTest, CallsAfterAWorkerDeathTellTheRayletWhichWorkerDied) {
  transport_.route = proto::ActorRoute::kDirect;
  calls_.Route(Call("before", /*max_retries=*/1));
  WorkerDies(1);
  // The raylet may still list the dead worker: the call says it died, so the
  // raylet runs it on the restarted actor instead of failing it with that death.
  transport_.route = proto::ActorRoute::kLater;
  calls_.Route(Call("after"));
  ASSERT_EQ(Submitted(), (std::vector<std::string>{"before", "after"}));
  EXPECT_EQ(transport_.submitted[1].failed_worker, "worker-1");
  EXPECT_EQ(transport_.submitted[1].attempts, 0) << "no retry spent";
}

TEST_F(DirectCallsTest, WorkerDeathFailsCallsWithoutRetriesLeft) {
  GoDirect();
  DirectCalls::WorkerDown down = WorkerDies(1);
  EXPECT_TRUE(transport_.submitted.empty());
  ASSERT_EQ(down.failed.size(), 1u);
  EXPECT_EQ(down.failed[0].id, "first.r");
  auto info = proto::Decode<proto::ErrorInfo>(down.failed[0].data);
  EXPECT_EQ(info.message, "actor " + ids::Hex(kActor) +
                              " died: its worker process exited before answering this call");
}

TEST_F(DirectCallsTest, WorkerDeathReportsRetriedReturnsNobodyHolds) {
  transport_.route = proto::ActorRoute::kDirect;
  calls_.Route(Call("d1", /*max_retries=*/1));
  refs_.RemoveLocalReference("d1.r");  // a pending direct result: the store has nothing yet
  EXPECT_TRUE(outbox_.released.empty());
  DirectCalls::WorkerDown down = WorkerDies(1);
  EXPECT_EQ(Submitted(), std::vector<std::string>{"d1"});
  // The retry stores it: the caller releases it, behind the submit.
  EXPECT_EQ(down.unreferenced, std::vector<std::string>{"d1.r"});
}

TEST_F(DirectCallsTest, AnotherWorkersDeathChangesNothing) {
  GoDirect();
  WorkerDies(2);
  calls_.Route(Call("second"));
  EXPECT_EQ(SentDirect(), (std::vector<std::string>{"first", "second"}));
}

TEST_F(DirectCallsTest, AfterWorkerDeathTheActorIsAskedForAgainSoon) {
  GoDirect();
  WorkerAnswers("first");
  WorkerDies(1);
  transport_.worker = 2;  // restarted elsewhere on the node
  calls_.Route(Call("early"));  // within the backoff: not asked
  EXPECT_EQ(Submitted(), std::vector<std::string>{"early"});
  EXPECT_EQ(transport_.probes.size(), 1u);
  RayletAnswers("early");  // it answered, so it is alive: asked at the next call
  calls_.Route(Call("later"));
  EXPECT_EQ(transport_.probes.size(), 2u);
  ASSERT_EQ(transport_.direct.size(), 2u);
  EXPECT_EQ(transport_.direct[1].first, 2);
}

TEST_F(DirectCallsTest, CallsToAKilledActorFailAtOnce) {
  calls_.MarkKilled(kActor);
  EXPECT_TRUE(calls_.IsEnded(kActor));
  std::vector<proto::ObjectEntry> failed;
  ASSERT_TRUE(calls_.FailIfEnded(Call("late"), &failed));
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].kind, static_cast<uint8_t>(proto::ObjectKind::kError));
  auto info = proto::Decode<proto::ErrorInfo>(failed[0].data);
  EXPECT_EQ(info.kind, static_cast<uint8_t>(proto::ErrorKind::kActor));
  EXPECT_EQ(info.message,
            "actor " + ids::Hex(kActor) + " is dead: it was killed (ActorHandle::Kill)");
  EXPECT_EQ(info.task_name, "Counter::Add");
}

TEST_F(DirectCallsTest, ActorThatCalledExitActorEndsAndLaterCallsFail) {
  GoDirect();
  std::vector<proto::ObjectEntry> failed;
  EXPECT_FALSE(calls_.FailIfEnded(Call("before"), &failed));
  EXPECT_TRUE(WorkerAnswers("first", /*exit_actor=*/true));
  ASSERT_TRUE(calls_.FailIfEnded(Call("after"), &failed));
  auto info = proto::Decode<proto::ErrorInfo>(failed[0].data);
  EXPECT_EQ(info.message, "actor " + ids::Hex(kActor) + " is dead: it called ray::ExitActor");
}

TEST_F(DirectCallsTest, CallsAfterExitActorGoThroughTheRayletWhichFailsThem) {
  GoDirect();
  WorkerAnswers("first", /*exit_actor=*/true);
  calls_.Route(Call("next"));
  EXPECT_EQ(Submitted(), std::vector<std::string>{"next"});
}

TEST_F(DirectCallsTest, DirectResultSharedBeforeItsReplyIsPutWhenItComes) {
  GoDirect();
  refs_.Share({"first.r"});  // shared before it arrived: put once it does
  EXPECT_TRUE(outbox_.puts.empty());
  WorkerAnswers("first");
  refs_.KeepResults({InlineEntry("first.r", "v")}, /*owner_only=*/true);
  ASSERT_EQ(outbox_.puts.size(), 1u);
  EXPECT_EQ(outbox_.puts[0].id, "first.r");
}

}  // namespace
}  // namespace ray::runtime
