// gcs::Core alone: a fake outbox that records what the GCS sends, a clock
// advanced by hand, and a real MetaStore in a temporary directory.
#include "actors/gcs/gcs_core.h"

#include "actors/common/profile_events.h"

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "actors/common/ids.h"
#include "temp_dir.h"

namespace ray::gcs {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class FakeClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point Now() const override { return now_; }
  void Advance(std::chrono::steady_clock::duration by) { now_ += by; }

 private:
  std::chrono::steady_clock::time_point now_;
};

/// "id@node" for a copy, "id!why" for a lost object: short to compare.
std::vector<std::string> Describe(const std::vector<proto::Location>& found) {
  std::vector<std::string> out;
  for (const auto& l : found) {
    out.push_back(l.lost.empty() ? l.id + "@" + l.node_id : l.id + "!" + l.lost);
  }
  return out;
}

/// A located answer as recorded: subscriber, Describe()d locations.
using Answer = std::pair<SubscriberId, std::vector<std::string>>;

class FakeOutbox final : public Outbox {
 public:
  // Placement groups' bundle requests (gcs_placement_test.cc tests them).
  void Prepare(const std::string&, const std::string&, int, const proto::Bundle&,
               std::function<void(bool)> done) override {
    done(false);
  }
  void Commit(const std::string&, const std::string&, int) override {}
  void Return(const std::string&, const std::string&, int) override {}
  void NodeAdded(const std::string& to, const proto::NodeRecord& added) override {
    added_.push_back(to + "<-" + added.node_id);
  }
  void NodeRemoved(const std::string& to, const std::string& removed,
                   const std::string& reason) override {
    removed_.push_back(to + "<-" + removed);
    reasons_.push_back(reason);
  }
  void JobEnded(const std::string& to, const std::string& job_id) override {
    jobs_ended_.push_back(to + "<-" + job_id);
  }
  void Located(SubscriberId to, const std::vector<proto::Location>& found) override {
    located_.emplace_back(to, Describe(found));
  }
  void CodeAnswer(CodeToken token, const std::string& package) override {
    code_.emplace_back(token, package);
  }

  std::vector<std::string> added_, removed_, reasons_, jobs_ended_;
  std::vector<Answer> located_;
  std::vector<std::pair<CodeToken, std::string>> code_;
};

class GcsCore : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    OpenStore();
    Start();
  }

  void OpenStore() {
    std::string error;
    store_ = storage::MetaStore::Open(dir_.path(), &error);
    ASSERT_NE(store_, nullptr) << error;
  }

  /// A fresh Core (on the same store) with these options.
  void Start(GcsOptions options = {}) {
    core_.reset();
    core_ = std::make_unique<Core>(store_.get(), &outbox_, &clock_, options);
  }

  /// As after a crash of the head: the store is closed and opened again.
  void Restart() {
    core_.reset();
    store_.reset();
    OpenStore();
    Start();
  }

  static proto::NodeRecord Node(const std::string& id, bool is_head = false) {
    proto::NodeRecord r;
    r.node_id = id;
    r.address = id + ":6379";
    r.total = {{"CPU", 4}};
    r.is_head = is_head;
    return r;
  }

  void Join(const std::string& id, bool is_head = false) {
    Status s = core_->RegisterNode(Node(id, is_head), true);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  static std::string TaskId(int n) {
    std::string id = "task-" + std::to_string(n);
    id.resize(ids::kTaskIdSize, '.');
    return id;
  }
  static std::string Result(int task) { return ids::ObjectId(TaskId(task), 1); }

  /// Task `n` returning Result(n) and taking the results of `args`.
  static proto::TaskSpec Task(int n, std::vector<int> args = {}) {
    proto::TaskSpec spec;
    spec.task_id = TaskId(n);
    spec.job_id = "job1";
    spec.function = "f" + std::to_string(n);
    spec.return_ids = {Result(n)};
    spec.resources = {{"CPU", 1}};
    for (int a : args) spec.args.push_back({true, Result(a), ""});
    spec.args.push_back({false, "", "inline value"});
    return spec;
  }

  void Append(std::vector<proto::TaskSpec> specs) {
    Status s = core_->AppendLineage(specs);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  void Release(int task) { ASSERT_TRUE(core_->ReleaseObjects({Result(task)}).ok()); }
  bool Logged(int task) const { return core_->LineageOf(Result(task)).has_value(); }

  static proto::Location Copy(const std::string& id, uint64_t size = 8) {
    return {id, "", size, ""};
  }

  storage::TempDir dir_;
  std::unique_ptr<storage::MetaStore> store_;
  FakeOutbox outbox_;
  FakeClock clock_;
  std::unique_ptr<Core> core_;  // last: it points at the members above
};

// -- jobs --------------------------------------------------------------------------

TEST_F(GcsCore, JobIdsAreUniqueAndSurviveARestart) {
  std::set<std::string> seen;
  for (int i = 0; i < 3; ++i) {
    auto id = core_->NewJobId();
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    EXPECT_EQ(id->size(), 4u);
    EXPECT_TRUE(seen.insert(*id).second);
  }
  Restart();
  auto id = core_->NewJobId();
  ASSERT_TRUE(id.ok());
  EXPECT_FALSE(seen.count(*id)) << "job id handed out twice after a restart";
}

TEST_F(GcsCore, JobEndIsRelayedToEveryRaylet) {
  Join("A", true);
  Join("B");
  core_->EndJob("j1");
  EXPECT_EQ(outbox_.jobs_ended_, (std::vector<std::string>{"A<-j1", "B<-j1"}));
}

// -- lineage --------------------------------------------------------------------------

TEST_F(GcsCore, CollectsReleasedTasksRecord) {
  Append({Task(1)});
  ASSERT_TRUE(Logged(1));
  Release(1);
  EXPECT_FALSE(Logged(1));
  EXPECT_EQ(core_->GetStats().lineage_collected, 1u);
  EXPECT_EQ(core_->GetStats().lineage_live, 0u);
}

TEST_F(GcsCore, CollectsLineageOnlyAfterDependentsRelease) {
  Append({Task(1), Task(2, {1})});  // task 2 takes task 1's result
  Release(1);
  EXPECT_TRUE(Logged(1)) << "collected while a live task takes its result";
  Release(2);
  EXPECT_FALSE(Logged(2));
  EXPECT_FALSE(Logged(1));
  EXPECT_EQ(core_->GetStats().lineage_collected, 2u);
}

TEST_F(GcsCore, CollectsChainBackToTheFirstResultStillHeld) {
  Append({Task(1), Task(2, {1}), Task(3, {2})});  // 1 -> 2 -> 3
  Release(1);
  Release(3);
  EXPECT_FALSE(Logged(3));
  EXPECT_TRUE(Logged(2)) << "its owner still holds its result";
  EXPECT_TRUE(Logged(1)) << "task 2, still needed, takes its result";
  Release(2);
  EXPECT_FALSE(Logged(2));
  EXPECT_FALSE(Logged(1));
  EXPECT_EQ(core_->GetStats().lineage_collected, 3u);
}

TEST_F(GcsCore, LineageOfGivesBackTheTaskToRunAgain) {
  Append({Task(1), Task(2, {1})});
  auto spec = core_->LineageOf(Result(2));
  ASSERT_TRUE(spec.has_value());
  EXPECT_EQ(spec->task_id, TaskId(2));
  EXPECT_EQ(spec->function, "f2");
  ASSERT_EQ(spec->args.size(), 2u);
  EXPECT_EQ(spec->args[0].object_id, Result(1));
  EXPECT_EQ(spec->args[1].value, "inline value");
  EXPECT_EQ(spec->resources, (std::map<std::string, double>{{"CPU", 1}}));
  EXPECT_FALSE(core_->LineageOf(Result(9)).has_value());
}

TEST_F(GcsCore, EvictsOldestLineageBeyondMaxMemory) {
  const int64_t bytes = storage::EncodeLineageRecord(ToLineageRecord(Task(1))).size();
  GcsOptions options;
  options.max_memory = bytes * 5 / 2;  // room for two records
  Start(options);
  Append({Task(1)});
  Append({Task(2)});
  EXPECT_EQ(core_->GetStats().lineage_evicted, 0u);
  Append({Task(3)});
  EXPECT_FALSE(Logged(1)) << "the oldest goes first";
  EXPECT_TRUE(Logged(2));
  EXPECT_TRUE(Logged(3));
  Stats stats = core_->GetStats();
  EXPECT_EQ(stats.lineage_evicted, 1u);
  EXPECT_EQ(stats.lineage_tasks, 3u);
  EXPECT_EQ(stats.lineage_memory, static_cast<uint64_t>(2 * bytes));
  EXPECT_NE(stats.ToString().find("lineage_evicted=1 "), std::string::npos) << stats.ToString();
}

TEST_F(GcsCore, CollectedLineageNoLongerCountsAgainstMaxMemory) {
  const int64_t bytes = storage::EncodeLineageRecord(ToLineageRecord(Task(1))).size();
  GcsOptions options;
  options.max_memory = bytes * 5 / 2;
  Start(options);
  Append({Task(1)});
  Release(1);
  Append({Task(2)});
  Append({Task(3)});
  EXPECT_EQ(core_->GetStats().lineage_evicted, 0u);
  EXPECT_TRUE(Logged(2));
  EXPECT_TRUE(Logged(3));
}

// -- actors ---------------------------------------------------------------------------

TEST_F(GcsCore, ReserveFailsForALiveActorsName) {
  EXPECT_TRUE(*core_->ReserveName("counter", "actor1"));
  EXPECT_FALSE(*core_->ReserveName("counter", "actor2"));
  EXPECT_TRUE(*core_->ReserveName("counter", "actor1")) << "its holder may reserve it again";
  EXPECT_EQ(core_->LookupName("counter"), "actor1");
  EXPECT_EQ(core_->LookupName("other"), "");
}

TEST_F(GcsCore, DeadActorFreesItsNameAndOnlyItsOwn) {
  const std::string key = proto::ActorNameKey("ns", "counter");
  ASSERT_TRUE(*core_->ReserveName(key, "actor1"));
  proto::ActorInfo other{"actor2", "counter", "job1", "DEAD", "", 0, "", ""};
  other.ray_namespace = "ns";
  ASSERT_TRUE(core_->UpdateActor(other).ok());
  EXPECT_EQ(core_->LookupName(key), "actor1") << "freed by an actor that did not hold it";
  proto::ActorInfo info{"actor1", "counter", "job1", "ALIVE", "", 0, "", ""};
  info.ray_namespace = "ns";
  ASSERT_TRUE(core_->UpdateActor(info).ok());
  EXPECT_EQ(core_->LookupName(key), "actor1");
  info.state = "DEAD";
  ASSERT_TRUE(core_->UpdateActor(info).ok());
  EXPECT_EQ(core_->LookupName(key), "");
  EXPECT_TRUE(*core_->ReserveName(key, "actor3"));
  EXPECT_EQ(proto::Decode<proto::ActorInfo>(core_->GetActor("actor1")).state, "DEAD");
  EXPECT_EQ(core_->GetStats().actors, 2u);
}

TEST_F(GcsCore, ActorNamesAreUniquePerNamespace) {
  EXPECT_TRUE(*core_->ReserveName(proto::ActorNameKey("a", "counter"), "actor1"));
  EXPECT_TRUE(*core_->ReserveName(proto::ActorNameKey("b", "counter"), "actor2"));
  EXPECT_FALSE(*core_->ReserveName(proto::ActorNameKey("a", "counter"), "actor3"));
  // A namespace that is a prefix of another, or a name holding the separator's
  // neighbours, is still another key.
  EXPECT_TRUE(*core_->ReserveName(proto::ActorNameKey("a", "counte"), "actor4"));
  EXPECT_TRUE(*core_->ReserveName(proto::ActorNameKey("ab", "counter"), "actor5"));
  EXPECT_EQ(core_->LookupName(proto::ActorNameKey("a", "counter")), "actor1");
  EXPECT_EQ(core_->LookupName(proto::ActorNameKey("b", "counter")), "actor2");
  EXPECT_EQ(core_->LookupName(proto::ActorNameKey("c", "counter")), "");
  // Death frees the name in its own namespace only.
  proto::ActorInfo dead{"actor2", "counter", "job1", "DEAD", "", 0, "", ""};
  dead.ray_namespace = "b";
  ASSERT_TRUE(core_->UpdateActor(dead).ok());
  EXPECT_EQ(core_->LookupName(proto::ActorNameKey("b", "counter")), "");
  EXPECT_EQ(core_->LookupName(proto::ActorNameKey("a", "counter")), "actor1");
}

// -- membership -----------------------------------------------------------------------

TEST_F(GcsCore, NewNodeAndEveryRayletHearOfEachOther) {
  Join("A", true);
  EXPECT_TRUE(outbox_.added_.empty());
  Join("B");
  Join("C");
  EXPECT_EQ(outbox_.added_,
            (std::vector<std::string>{"A<-B", "B<-A", "A<-C", "C<-A", "B<-C", "C<-B"}));
  EXPECT_EQ(core_->Nodes().size(), 3u);
  EXPECT_EQ(core_->Nodes()[1].available, Node("B").total) << "a new node is all available";
}

TEST_F(GcsCore, RefusesNodesBeyondMaxClients) {
  GcsOptions options;
  options.max_clients = 2;
  Start(options);
  Join("A", true);
  Join("B");
  outbox_.added_.clear();
  Status refused = core_->RegisterNode(Node("C"), true);
  EXPECT_EQ(refused.code(), Errc::kResourceExhausted);
  EXPECT_NE(refused.message().find("--redis-max-clients=2"), std::string::npos);
  EXPECT_TRUE(outbox_.added_.empty());
  EXPECT_EQ(core_->Nodes().size(), 2u);
}

TEST_F(GcsCore, RefusesADuplicateOrUnreachableNode) {
  Join("A", true);
  Status duplicate = core_->RegisterNode(Node("A"), true);
  EXPECT_EQ(duplicate.code(), Errc::kAlreadyExists);
  EXPECT_EQ(duplicate.message(), "a node with this id is already registered");
  EXPECT_EQ(core_->RegisterNode(Node("B"), false).code(), Errc::kInvalidArgument);
  EXPECT_EQ(core_->Nodes().size(), 1u);
}

TEST_F(GcsCore, SilentNodeIsDeclaredDeadAndEveryOtherRayletTold) {
  GcsOptions options;
  options.heartbeat_timeout_ms = 1000;
  Start(options);
  Join("H", true);
  Join("A");
  Join("B");
  clock_.Advance(milliseconds(600));
  ASSERT_TRUE(core_->Heartbeat("B", {{"CPU", 1}}).ok());
  EXPECT_TRUE(core_->CheckHeartbeats().empty());
  clock_.Advance(milliseconds(600));  // A silent 1200 ms, B 600 ms
  EXPECT_EQ(core_->CheckHeartbeats(), (std::vector<std::string>{"A"}));
  EXPECT_EQ(outbox_.removed_, (std::vector<std::string>{"B<-A", "H<-A"}));
  EXPECT_NE(outbox_.reasons_[0].find("no heartbeat for 1000 ms"), std::string::npos);
  clock_.Advance(seconds(60));
  EXPECT_EQ(core_->CheckHeartbeats(), (std::vector<std::string>{"B"})) << "never the head";
  ASSERT_EQ(core_->Nodes().size(), 1u);
  EXPECT_EQ(core_->Nodes()[0].node_id, "H");
}

TEST_F(GcsCore, RemovedNodesNextHeartbeatIsAnsweredRemoved) {
  Join("H", true);
  Join("A");
  auto live = core_->Heartbeat("A", {{"CPU", 3}});
  ASSERT_TRUE(live.ok());
  ASSERT_EQ(live->size(), 2u);
  EXPECT_EQ((*live)[0].available.at("CPU"), 3);  // "A" sorts first
  EXPECT_TRUE(core_->NodeDisconnected("A"));
  EXPECT_FALSE(core_->NodeDisconnected("A"));
  EXPECT_EQ(outbox_.removed_, (std::vector<std::string>{"H<-A"}));
  EXPECT_EQ(core_->Heartbeat("A", {}).status().code(), Errc::kRemovedFromCluster);
}

// -- object directory -------------------------------------------------------------------

TEST_F(GcsCore, LocateAnswersUnknownObjectWhenItAppears) {
  Join("A", true);
  Join("B");
  core_->AddLocations("A", {Copy("o1")});
  core_->Locate({"o1", "o2"}, 7);
  ASSERT_EQ(outbox_.located_.size(), 1u);
  EXPECT_EQ(outbox_.located_[0], (Answer{7, {"o1@A"}}));
  core_->Locate({"o2"}, 7);  // asked twice, answered once
  core_->Locate({"o2"}, 8);
  core_->AddLocations("B", {Copy("o2")});
  ASSERT_EQ(outbox_.located_.size(), 3u);
  EXPECT_EQ(outbox_.located_[1], (Answer{7, {"o2@B"}}));
  EXPECT_EQ(outbox_.located_[2], (Answer{8, {"o2@B"}}));
  core_->AddLocations("A", {Copy("o2")});
  EXPECT_EQ(outbox_.located_.size(), 3u) << "the subscription ended with its answer";
}

TEST_F(GcsCore, LocationsComeAndGo) {
  Join("A", true);
  Join("B");
  core_->AddLocations("A", {Copy("o1", 5), Copy("o2")});
  core_->AddLocations("B", {Copy("o1", 5)});
  EXPECT_EQ(Describe(core_->LocationsNow({"o1", "o9"})),
            (std::vector<std::string>{"o1@A", "o1@B"}));
  core_->RemoveLocations("A", {"o1"}, "evicted");
  EXPECT_EQ(Describe(core_->LocationsNow({"o1"})), (std::vector<std::string>{"o1@B"}));
  core_->RemoveLocations("B", {"o1"}, "");  // freed: forgotten, not lost
  core_->RemoveLocations("A", {"o2"}, "spill failed");
  core_->Locate({"o1", "o2"}, 1);
  ASSERT_EQ(outbox_.located_.size(), 1u);
  EXPECT_EQ(outbox_.located_[0].second, (std::vector<std::string>{"o2!spill failed"}));
  EXPECT_EQ(core_->GetStats().objects_located, 0u);
}

TEST_F(GcsCore, ObjectsWhoseOnlyCopyWasOnADeadNodeAreLost) {
  Join("A", true);
  Join("B");
  core_->AddLocations("B", {Copy("o1"), Copy("o2")});
  core_->AddLocations("A", {Copy("o2")});
  ASSERT_TRUE(core_->NodeDisconnected("B"));
  core_->AddLocations("B", {Copy("o3")});  // a dead node's late report
  core_->Locate({"o1", "o2", "o3"}, 1);
  ASSERT_EQ(outbox_.located_.size(), 1u);
  const auto& answer = outbox_.located_[0].second;
  ASSERT_EQ(answer.size(), 2u);
  EXPECT_NE(answer[0].find("o1!its only copy was on node"), std::string::npos) << answer[0];
  EXPECT_NE(answer[0].find("which died: lost the connection"), std::string::npos) << answer[0];
  EXPECT_EQ(answer[1], "o2@A");
}

TEST_F(GcsCore, RebuiltObjectIsNoLongerLostAndAnsweredWhenItAppears) {
  Join("A", true);
  Join("B");
  core_->AddLocations("B", {Copy("o1")});
  core_->AddLocations("A", {Copy("o2")});
  ASSERT_TRUE(core_->NodeDisconnected("B"));
  core_->Resubscribe({"o1", "o2"}, 4);
  ASSERT_EQ(outbox_.located_.size(), 1u);
  EXPECT_EQ(outbox_.located_[0].second, (std::vector<std::string>{"o2@A"}));
  core_->AddLocations("A", {Copy("o1")});
  ASSERT_EQ(outbox_.located_.size(), 2u);
  EXPECT_EQ(outbox_.located_[1], (Answer{4, {"o1@A"}}));
}

// -- code shipping ----------------------------------------------------------------------

proto::JobInfo ShippingJob(const std::string& id) {
  proto::JobInfo info;
  info.job_id = id;
  info.ships_code = true;
  return info;
}

TEST_F(GcsCore, CodeGetBeforeCodePutWaitsAndIsAnsweredOnPut) {
  ASSERT_TRUE(core_->RegisterJob(ShippingJob("j1")).ok());
  EXPECT_FALSE(core_->GetCode("j1", 1).has_value());
  EXPECT_FALSE(core_->GetCode("j1", 2).has_value());
  EXPECT_TRUE(outbox_.code_.empty());
  ASSERT_TRUE(core_->PutCode("j1", "package").ok());
  EXPECT_EQ(outbox_.code_, (std::vector<std::pair<CodeToken, std::string>>{{1, "package"},
                                                                           {2, "package"}}));
  EXPECT_EQ(core_->GetCode("j1", 3), std::optional<std::string>("package"));
  clock_.Advance(Core::kCodeWait * 2);
  core_->ExpireCodeWaits();
  EXPECT_EQ(outbox_.code_.size(), 2u) << "answered twice";
}

TEST_F(GcsCore, CodeGetTimesOutWithAnEmptyAnswer) {
  ASSERT_TRUE(core_->RegisterJob(ShippingJob("j1")).ok());
  ASSERT_FALSE(core_->GetCode("j1", 1).has_value());
  clock_.Advance(Core::kCodeWait - seconds(10));
  ASSERT_FALSE(core_->GetCode("j1", 2).has_value());
  core_->ExpireCodeWaits();
  EXPECT_TRUE(outbox_.code_.empty()) << "expired early";
  clock_.Advance(seconds(10));
  core_->ExpireCodeWaits();
  EXPECT_EQ(outbox_.code_, (std::vector<std::pair<CodeToken, std::string>>{{1, ""}}));
  ASSERT_TRUE(core_->PutCode("j1", "late").ok());
  EXPECT_EQ(outbox_.code_.back(), (std::make_pair(CodeToken{2}, std::string("late"))));
  EXPECT_EQ(outbox_.code_.size(), 2u);
}

TEST_F(GcsCore, CodeGetOfAJobShippingNothingIsAnsweredEmptyAtOnce) {
  proto::JobInfo local;
  local.job_id = "j2";
  ASSERT_TRUE(core_->RegisterJob(local).ok());
  EXPECT_EQ(core_->GetCode("j2", 1), std::optional<std::string>(""));
  EXPECT_EQ(core_->GetCode("unknown", 2), std::optional<std::string>(""));
  EXPECT_EQ(proto::Decode<proto::JobInfo>(core_->GetJobInfo("j2")).job_id, "j2");
  EXPECT_EQ(core_->GetJobInfo("unknown"), "");
}

// -- stats --------------------------------------------------------------------------------

TEST_F(GcsCore, StatsKeepTheirWireFormat) {
  Join("A", true);
  core_->AddLocations("A", {Copy("o1")});
  Append({Task(1)});
  std::string text = core_->GetStats().ToString();
  EXPECT_EQ(text.rfind("lineage_tasks=1 lineage_bytes=", 0), 0u) << text;
  EXPECT_NE(text.find(" lineage_evicted=0 lineage_collected=0 lineage_live=1 actors=0 nodes=1 "
                      "objects_located=1"),
            std::string::npos)
      << text;
}

// -- observability -----------------------------------------------------------------

/// An encoded batch from a worker with one task event per job in `jobs`.
std::string WorkerBatch(const std::vector<std::string>& jobs, int32_t pid = 42) {
  events::Batch batch;
  batch.component_type = "worker";
  batch.pid = pid;
  batch.base_us = 1000;
  batch.strings = {"", "task"};
  for (const auto& job : jobs) {
    events::WireEvent e;
    e.type = 1;
    e.job = static_cast<uint32_t>(batch.strings.size());
    batch.strings.push_back(job);
    batch.events.push_back(e);
  }
  return proto::Encode(batch);
}

TEST_F(GcsCore, StoresEventBatchesWithTheirNodeAndFiltersThemByJob) {
  Join("H", true);
  ASSERT_TRUE(core_->AddEvents("H", 2, WorkerBatch({"job1", "job2"})).ok());
  ASSERT_TRUE(core_->AddEvents("H", 1, WorkerBatch({"job2"}, 43)).ok());
  auto all = proto::Decode<events::EventsReply>(core_->QueryEvents(""));
  ASSERT_EQ(all.batches.size(), 2u);
  EXPECT_EQ(all.batches[0].node_id, "H");
  EXPECT_EQ(all.batches[0].batch.pid, 42);
  EXPECT_EQ(all.batches[1].batch.pid, 43) << "oldest first";
  ASSERT_EQ(all.nodes.size(), 1u);
  EXPECT_EQ(all.nodes[0].second, "H:6379");
  auto job1 = proto::Decode<events::EventsReply>(core_->QueryEvents("job1"));
  ASSERT_EQ(job1.batches.size(), 1u) << "a batch without the job's events is left out";
  auto events = job1.batches[0].batch.Expand();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].job_id, "job1");
}

TEST_F(GcsCore, EventsBeyondTheCapDropTheOldestAndSayHowMany) {
  GcsOptions options;
  options.events_max_bytes = 1;  // every new batch pushes out what came before
  Start(options);
  Join("H", true);
  ASSERT_TRUE(core_->AddEvents("H", 2, WorkerBatch({"a", "b"})).ok());
  ASSERT_TRUE(core_->AddEvents("H", 3, WorkerBatch({"a", "b", "c"})).ok());
  auto reply = proto::Decode<events::EventsReply>(core_->QueryEvents(""));
  EXPECT_TRUE(reply.batches.empty());
  EXPECT_EQ(reply.dropped, 5u);
}

TEST_F(GcsCore, AMalformedStoredBatchIsSkippedNotFatal) {
  Join("H", true);
  ASSERT_TRUE(core_->AddEvents("H", 1, "not msgpack").ok());
  ASSERT_TRUE(core_->AddEvents("H", 1, WorkerBatch({"job1"})).ok());
  auto reply = proto::Decode<events::EventsReply>(core_->QueryEvents(""));
  EXPECT_EQ(reply.batches.size(), 1u);
}

TEST_F(GcsCore, StatusReportHasEveryNodeAliveOrDeadAndActorsByState) {
  GcsOptions options;
  options.heartbeat_timeout_ms = 1000;
  Start(options);
  Join("H", true);
  Join("A");
  clock_.Advance(std::chrono::milliseconds(1500));
  ASSERT_TRUE(core_->Heartbeat("H", {{"CPU", 3}}).ok());
  core_->CheckHeartbeats();
  proto::ActorInfo alive{"actor1", "counter", "job1", "ALIVE", "Counter::Create", 0, "", "H"};
  proto::ActorInfo dead{"actor2", "", "job1", "DEAD", "Counter::Create", 1, "it was killed", "H"};
  ASSERT_TRUE(core_->UpdateActor(alive).ok());
  ASSERT_TRUE(core_->UpdateActor(dead).ok());
  auto report = nlohmann::json::parse(
      core_->Report("status", {{"H", R"({"tasks_done": 7})", ""}}));
  ASSERT_EQ(report["nodes"].size(), 2u);
  EXPECT_EQ(report["nodes"][0]["state"], "ALIVE");
  EXPECT_EQ(report["nodes"][0]["report"]["tasks_done"], 7);
  EXPECT_EQ(report["nodes"][1]["state"], "DEAD");
  EXPECT_THAT(report["nodes"][1]["death_reason"].get<std::string>(),
              ::testing::HasSubstr("heartbeat"));
  EXPECT_EQ(report["actors_by_state"]["ALIVE"], 1);
  EXPECT_EQ(report["actors_by_state"]["DEAD"], 1);
}

TEST_F(GcsCore, StatusCarriesTheAutoscalersLatestReport) {
  Join("H", true);
  EXPECT_FALSE(nlohmann::json::parse(core_->Report("status", {})).contains("autoscaler"))
      << "no autoscaler runs";
  core_->SetAutoscalerReport(R"({"node_types": {"cpu": {"running": 1}}})");
  core_->SetAutoscalerReport(R"({"node_types": {"cpu": {"running": 2}}})");
  auto report = nlohmann::json::parse(core_->Report("status", {}));
  EXPECT_EQ(report["autoscaler"]["node_types"]["cpu"]["running"], 2) << "the latest one";
  core_->SetAutoscalerReport("not json");
  EXPECT_FALSE(nlohmann::json::parse(core_->Report("status", {})).contains("autoscaler"))
      << "a malformed report is left out, not passed on";
  EXPECT_FALSE(nlohmann::json::parse(core_->Report("memory", {})).contains("autoscaler"));
}

TEST_F(GcsCore, ReportSaysWhichNodesDidNotAnswer) {
  Join("H", true);
  Join("A");
  auto report = nlohmann::json::parse(core_->Report("memory", {{"A", "", "no answer in time"}}));
  for (const auto& node : report["nodes"]) {
    EXPECT_TRUE(node["report"].contains("error")) << node.dump();
  }
}

TEST_F(GcsCore, MemoryReportSaysWhoRefersToEachObjectAndWhatMadeIt) {
  Join("H", true);
  Join("A");
  Append({Task(1)});
  const std::string made = ids::Hex(Result(1));
  const std::string put = ids::Hex(ids::ObjectId(TaskId(2), ids::kPutIndexFlag | 1));
  nlohmann::json h = {{"objects", {{{"object_id", made}}, {{"object_id", put}}}}};
  nlohmann::json a = {{"processes",
                       {{{"pid", 7},
                         {"component", "driver"},
                         {"refs",
                          {{{"object_id", made}, {"local_refs", 2}, {"owned", true}},
                           {{"object_id", put}, {"local_refs", 1}, {"owned", false}}}}}}}};
  auto report = nlohmann::json::parse(core_->Report("memory", {{"H", h.dump(), ""}, {"A", a.dump(), ""}}));
  nlohmann::json objects;
  for (const auto& node : report["nodes"]) {
    if (node["report"].contains("objects")) objects = node["report"]["objects"];
  }
  ASSERT_EQ(objects.size(), 2u) << report.dump();
  EXPECT_EQ(objects[0]["ref_count"], 2) << "a driver on another node holds it";
  EXPECT_EQ(objects[0]["owner_process"]["pid"], 7);
  EXPECT_EQ(objects[0]["made_by"], "f1");
  EXPECT_EQ(objects[1]["ref_count"], 1);
  EXPECT_EQ(objects[1]["made_by"], "ray::Put");
  EXPECT_FALSE(objects[1].contains("owner_process"));
}

TEST_F(GcsCore, JobsKeepTheirStateAndTimesAcrossARestart) {
  Join("H", true);
  proto::JobInfo info;
  info.job_id = "job1";
  info.executable = "/bin/driver";
  ASSERT_TRUE(core_->RegisterJob(info).ok());
  auto running = nlohmann::json::parse(core_->Report("status", {}))["jobs"];
  ASSERT_EQ(running.size(), 1u);
  EXPECT_EQ(running[0]["state"], "RUNNING");
  EXPECT_EQ(running[0]["entrypoint"], "/bin/driver");
  EXPECT_GT(running[0]["start_time_ms"].get<int64_t>(), 0);
  core_->EndJob("job1");
  core_->EndJob("job1");  // every node of the job reports its end: the first one counts
  Restart();
  auto ended = nlohmann::json::parse(core_->Report("status", {}))["jobs"];
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0]["state"], "FINISHED");
  EXPECT_GE(ended[0]["end_time_ms"].get<int64_t>(), ended[0]["start_time_ms"].get<int64_t>());
}

TEST_F(GcsCore, AMalformedNodeReportIsShownNotFatal) {
  Join("H", true);
  const std::string bad = R"({"objects": [{"object_id": "00"}],
                              "processes": [{"pid": "x", "refs": [{"object_id": "00", "local_refs": "y"}]}]})";
  std::string text;
  ASSERT_NO_THROW(text = core_->Report("memory", {{"H", bad, ""}}));
  auto report = nlohmann::json::parse(text);
  EXPECT_TRUE(report.contains("error")) << text;
  EXPECT_EQ(report["nodes"][0]["report"]["objects"][0]["object_id"], "00");
  ASSERT_NO_THROW(core_->Report("status", {{"H", "not json at all", ""}}));
}

TEST_F(GcsCore, ObserveQueriesGoToAllNodesOrTheOneNamed) {
  Join("H", true);
  Join("A");
  EXPECT_EQ(core_->ObserveTargets("{}").size(), 2u);
  EXPECT_EQ(core_->ObserveTargets(R"({"node": "A:6379"})"), std::vector<std::string>{"A"});
  EXPECT_EQ(core_->ObserveTargets(R"({"node": "41"})"), std::vector<std::string>{"A"})
      << "a prefix of the hex id ('A' is 0x41)";
  EXPECT_TRUE(core_->ObserveTargets(R"({"node": "nowhere"})").empty());
  EXPECT_EQ(core_->ObserveTargets(R"({"node": 5})").size(), 2u) << "a non-string is ignored";
  EXPECT_EQ(core_->ObserveTargets("not json").size(), 2u);
}

}  // namespace
}  // namespace ray::gcs
