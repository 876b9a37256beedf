// raylet::Core with fake outbox, worker host and timer: every decision of the
// raylet (scheduling, retries, restarts, node deaths, rebuilds, releases)
// checked without a process, a socket or a sleep.
#include "actors/raylet/raylet_core.h"

#include <gtest/gtest.h>

#include <tuple>
#include <nlohmann/json.hpp>
#include <signal.h>

#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "actors/common/ids.h"
#include "actors/common/profile_events.h"

namespace ray::raylet {
namespace {

// -- fakes ---------------------------------------------------------------------------

struct FakeOutbox : Outbox {
  std::vector<proto::ObjectEntry> put;
  std::vector<std::vector<std::string>> unpinned;
  std::vector<std::pair<std::string, bool>> released;  // id, free
  std::vector<std::string> gone_workers;
  std::vector<std::pair<std::string, proto::ExecRequest>> executed;  // worker, request
  std::vector<std::string> exited;
  std::vector<std::vector<proto::TaskSpec>> lineage;
  std::vector<std::vector<std::string>> reported_released;
  std::vector<std::string> gcs_order;  // "lineage" / "released", in sending order
  std::vector<proto::ActorInfo> actor_updates;
  std::vector<std::pair<std::string, proto::TaskSpec>> to_peer;
  std::vector<std::vector<std::string>> subscribed;
  std::vector<std::string> connects;
  std::vector<std::pair<std::string, std::vector<proto::ObjectEntry>>> pushed;
  // Requests waiting for the test to answer them.
  std::vector<std::pair<std::vector<std::string>, Reply<std::vector<proto::ObjectEntry>>>> gets;
  std::map<std::string, Reply<proto::TaskSpec>> lineage_fetches;
  std::map<std::string, Reply<proto::ActorInfo>> actor_lookups;
  std::map<std::string, Reply<proto::JobInfo>> job_lookups;
  std::vector<Reply<std::vector<proto::Location>>> locates;

  void PutObject(const proto::ObjectEntry& e) override { put.push_back(e); }
  void UnpinObjects(const std::vector<std::string>& ids) override { unpinned.push_back(ids); }
  void ReleaseObject(const std::string& id, bool free) override { released.emplace_back(id, free); }
  void WorkerGone(const std::string& w) override { gone_workers.push_back(w); }
  void PeerRemoved(const std::string&) override {}
  void GetObjects(const std::vector<std::string>& ids,
                  Reply<std::vector<proto::ObjectEntry>> done) override {
    gets.emplace_back(ids, std::move(done));
  }
  void Execute(const std::string& w, const proto::ExecRequest& r) override {
    executed.emplace_back(w, r);
  }
  void ExitWorker(const std::string& w) override { exited.push_back(w); }
  std::vector<std::pair<std::string, std::string>> told_gone;  // driver, worker
  void TellWorkerGone(const std::string& d, const std::string& w) override {
    told_gone.emplace_back(d, w);
  }
  void StealTasks(const std::string& w, Reply<std::vector<std::string>> done) override {
    steals.emplace_back(w, std::move(done));
  }
  std::vector<std::pair<std::string, Reply<std::vector<std::string>>>> steals;
  void PushResults(const std::string& d, const std::vector<proto::ObjectEntry>& e) override {
    pushed.emplace_back(d, e);
  }
  void AppendLineage(const std::vector<proto::TaskSpec>& specs) override {
    lineage.push_back(specs);
    gcs_order.push_back("lineage");
  }
  void ReportReleased(const std::vector<std::string>& ids) override {
    reported_released.push_back(ids);
    gcs_order.push_back("released");
  }
  void UpdateActor(const proto::ActorInfo& info) override { actor_updates.push_back(info); }
  void RegisterJob(const proto::JobInfo&) override {}
  void ReportJobEnded(const std::string&) override {}
  void SubscribeRebuilt(const std::vector<std::string>& ids) override { subscribed.push_back(ids); }
  void LookupActor(const std::string& id, Reply<proto::ActorInfo> done) override {
    actor_lookups[id] = std::move(done);
  }
  void LookupJob(const std::string& id, Reply<proto::JobInfo> done) override {
    job_lookups[id] = std::move(done);
  }
  std::map<std::string, Reply<proto::CodePackage>> code_fetches;
  void FetchCode(const std::string& id, Reply<proto::CodePackage> done) override {
    code_fetches[id] = std::move(done);
  }
  void FetchLineage(const std::string& id, Reply<proto::TaskSpec> done) override {
    lineage_fetches[id] = std::move(done);
  }
  void LocateNow(const std::vector<std::string>&,
                 Reply<std::vector<proto::Location>> done) override {
    locates.push_back(std::move(done));
  }
  void SubmitToPeer(const std::string& node, const proto::TaskSpec& spec) override {
    to_peer.emplace_back(node, spec);
  }
  void ReturnToOrigin(const std::string&, const std::string&,
                      const std::vector<proto::ObjectEntry>&) override {}
  std::vector<std::tuple<std::string, std::string, bool>> kills;  // node, actor, no_restart
  void KillOnPeer(const std::string& node, const std::string& actor, bool no_restart) override {
    kills.emplace_back(node, actor, no_restart);
  }
  void ConnectToPeer(const std::string& address) override { connects.push_back(address); }

  /// Entries stored for `id`, newest last.
  std::vector<proto::ObjectEntry> Stored(const std::string& id) const {
    std::vector<proto::ObjectEntry> out;
    for (const auto& e : put) {
      if (e.id == id) out.push_back(e);
    }
    return out;
  }
  std::vector<std::string> ExecutedOn(const std::string& worker) const {
    std::vector<std::string> out;
    for (const auto& [w, r] : executed) {
      if (w == worker) out.push_back(r.spec.task_id);
    }
    return out;
  }
};

struct FakeHost : WorkerHost {
  struct Launch {
    std::vector<std::string> argv;
    std::map<std::string, std::string> env;
    pid_t pid;
  };
  std::vector<Launch> launches;
  std::vector<std::pair<pid_t, int>> signals;
  bool fail_launch = false;
  bool files_exist = true;
  pid_t next_pid = 1000;

  pid_t Launch(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
               std::string* error) override {
    if (fail_launch) {
      *error = "fork failed";
      return -1;
    }
    launches.push_back({argv, env, next_pid});
    return next_pid++;
  }
  void Signal(pid_t pid, int sig) override { signals.emplace_back(pid, sig); }
  void KillAll() override {}
  bool Usable(const std::string&, bool) override { return files_exist; }
  Status install = Status::Ok();
  Status InstallCode(const std::string&, const proto::CodePackage&) override { return install; }
  std::vector<std::pair<std::string, proto::CodePackage>> working_dirs;  // dir, files
  Status InstallWorkingDir(const std::string& dir, const proto::CodePackage& files) override {
    working_dirs.emplace_back(dir, files);
    return install;
  }
};

struct FakeTimer : Timer {
  std::chrono::steady_clock::time_point now{};
  std::vector<std::pair<std::chrono::steady_clock::time_point, std::function<void()>>> pending;

  std::chrono::steady_clock::time_point Now() override { return now; }
  void After(std::chrono::milliseconds delay, std::function<void()> fn) override {
    pending.emplace_back(now + delay, std::move(fn));
  }
  /// Moves the clock on and runs what became due, in deadline order.
  void Advance(std::chrono::milliseconds by) {
    now += by;
    for (;;) {
      auto due = std::find_if(pending.begin(), pending.end(),
                              [&](const auto& p) { return p.first <= now; });
      if (due == pending.end()) return;
      auto fn = std::move(due->second);
      pending.erase(due);
      fn();
    }
  }
};

// -- fixture -------------------------------------------------------------------------

const std::string kJob = "J001";
const std::string kDriver = "driver-1";

class RayletCoreTest : public ::testing::Test {
 protected:
  void Start(std::map<std::string, double> resources, std::string head_address = "") {
    RayletOptions o;
    o.node_id = "node-A";
    o.resources = std::move(resources);
    o.session_dir = "/tmp/session";
    o.preload_library = "/lib/preload.so";
    o.head_address = std::move(head_address);
    core_ = std::make_unique<Core>(o, &out_, &host_, &timer_);
    core_->SetAddress("127.0.0.1:7000");
    proto::Hello hello;
    hello.client_id = kDriver;
    hello.is_driver = true;
    hello.executable = "/bin/driver";
    core_->AddDriver(kJob, hello);
  }

  /// Says hello for every worker launched and not connected yet; their ids.
  std::vector<std::string> ConnectWorkers() {
    std::vector<std::string> ids;
    for (const auto& l : host_.launches) {
      std::string id;
      EXPECT_TRUE(ids::FromHex(l.env.at("RAY_WORKER_ID"), &id));
      auto w = core_->state().workers.find(id);
      if (w == core_->state().workers.end() || w->second.connected) continue;
      EXPECT_TRUE(core_->OnWorkerHello(id).ok());
      ids.push_back(id);
    }
    timer_.Advance(std::chrono::milliseconds(0));
    return ids;
  }

  static proto::TaskSpec Task(const std::string& name, double cpus = 1, int max_retries = 0) {
    proto::TaskSpec spec;
    spec.task_id = ids::Derive("task:" + name, 0);
    spec.job_id = kJob;
    spec.function = name;
    spec.return_ids = {ids::ObjectId(spec.task_id, 1)};
    if (cpus > 0) spec.resources = {{"CPU", cpus}};
    spec.max_retries = max_retries;
    spec.caller_id = kDriver;
    return spec;
  }

  static proto::TaskSpec ActorCreation(const std::string& actor, int max_restarts) {
    proto::TaskSpec spec = Task("ctor:" + actor, 0);
    spec.kind = static_cast<uint8_t>(proto::TaskKind::kActorCreation);
    spec.actor_id = ids::Derive("actor:" + actor, 0);
    spec.max_restarts = max_restarts;
    return spec;
  }

  static proto::TaskSpec ActorCall(const proto::TaskSpec& creation, const std::string& name,
                                   int max_retries = 0) {
    proto::TaskSpec spec = Task(name, 0, max_retries);
    spec.kind = static_cast<uint8_t>(proto::TaskKind::kActorMethod);
    spec.actor_id = creation.actor_id;
    return spec;
  }

  /// The worker finished `spec` with one inline result "ok:<function>".
  void Finish(const std::string& worker, const proto::TaskSpec& spec, bool user_error = false) {
    proto::ExecReply reply;
    reply.task_id = spec.task_id;
    reply.worker_id = worker;
    reply.user_error = user_error;
    for (const auto& id : spec.return_ids) {
      reply.results.push_back({id, static_cast<uint8_t>(proto::ObjectKind::kInline),
                               "ok:" + spec.function, -1, 0});
    }
    core_->HandleDone(reply);
  }

  void Die(const std::string& worker) {
    pid_t pid = core_->state().workers.at(worker).pid;
    core_->OnWorkerExited(pid, SIGKILL);  // a raw wait status: killed by SIGKILL
  }

  /// The error message stored for `id` ("" when its last entry is not an error).
  std::string ErrorOf(const std::string& id) const {
    auto entries = out_.Stored(id);
    if (entries.empty() || entries.back().kind != static_cast<uint8_t>(proto::ObjectKind::kError)) {
      return "";
    }
    auto info = proto::Decode<proto::ErrorInfo>(entries.back().data);
    return info.exception_type + ": " + info.message;
  }

  void AddPeer(const std::string& node, std::map<std::string, double> resources) {
    proto::NodeRecord rec;
    rec.node_id = node;
    rec.address = "127.0.0.1:7100";
    rec.total = resources;
    rec.available = resources;
    core_->OnPeerAdded(rec);
  }

  FakeOutbox out_;
  FakeHost host_;
  FakeTimer timer_;
  std::unique_ptr<Core> core_;
};

// -- scheduling and resources ---------------------------------------------------------

TEST_F(RayletCoreTest, RunsNoMoreTasksThanTheCpusAllow) {
  Start({{"CPU", 2}});
  auto a = Task("a"), b = Task("b"), c = Task("c");
  for (auto* t : {&a, &b, &c}) core_->Submit(*t);
  EXPECT_EQ(host_.launches.size(), 2u) << "one worker per task that can run now";
  auto workers = ConnectWorkers();
  ASSERT_EQ(workers.size(), 2u);
  ASSERT_EQ(out_.executed.size(), 2u);
  EXPECT_EQ(core_->state().ready.size(), 1u);
  EXPECT_DOUBLE_EQ(core_->state().pool.Available("CPU"), 0);

  Finish(out_.executed[0].first, out_.executed[0].second.spec);
  ASSERT_EQ(out_.executed.size(), 3u) << "the freed CPU runs the waiting task";
  EXPECT_EQ(out_.executed[2].second.spec.task_id, c.task_id);
  EXPECT_EQ(out_.Stored(a.return_ids[0]).at(0).data, "ok:a");
  EXPECT_EQ(out_.pushed.size(), 1u) << "the driver gets its results pushed";
}

TEST_F(RayletCoreTest, InfeasibleTaskWaitsAndLeavesOtherTasksRunning) {
  Start({{"CPU", 1}});
  auto big = Task("big", 8), small = Task("small", 1);
  core_->Submit(big);
  core_->Submit(small);
  ConnectWorkers();
  ASSERT_EQ(out_.executed.size(), 1u);
  EXPECT_EQ(out_.executed[0].second.spec.task_id, small.task_id);
  EXPECT_TRUE(ErrorOf(big.return_ids[0]).empty()) << "it waits; it does not fail";
}

TEST_F(RayletCoreTest, InfeasibleTaskGoesToAPeerThatCanRunIt) {
  Start({{"CPU", 1}});
  AddPeer("node-B", {{"CPU", 4}, {"GPU", 1}});
  auto gpu = Task("gpu", 0);
  gpu.resources = {{"GPU", 1}};
  core_->Submit(gpu);
  ASSERT_EQ(out_.to_peer.size(), 1u);
  EXPECT_EQ(out_.to_peer[0].first, "node-B");
  EXPECT_EQ(out_.to_peer[0].second.hops, 1);
  EXPECT_TRUE(host_.launches.empty()) << "no worker started here for it";
}

TEST_F(RayletCoreTest, SpillsQueuedTasksToAPeerWithFreeCpus) {
  Start({{"CPU", 1}});
  AddPeer("node-B", {{"CPU", 2}});
  auto a = Task("a"), b = Task("b");
  core_->Submit(a);
  core_->Submit(b);
  ASSERT_EQ(out_.to_peer.size(), 1u) << "one runs here, the other where a CPU is free";
  EXPECT_EQ(out_.to_peer[0].second.task_id, b.task_id);
  EXPECT_EQ(core_->state().forwarded.count(b.task_id), 1u);
}

TEST_F(RayletCoreTest, BlockedWorkerLendsItsCpuAndTakesItBack) {
  Start({{"CPU", 1}});
  auto outer = Task("outer"), inner = Task("inner");
  core_->Submit(outer);
  auto first = ConnectWorkers();
  ASSERT_EQ(first.size(), 1u);
  core_->Submit(inner);
  EXPECT_EQ(out_.executed.size(), 1u) << "no CPU free for inner";
  core_->OnWorkerBlocked(first[0]);  // outer waits in Get for inner
  EXPECT_DOUBLE_EQ(core_->state().pool.Available("CPU"), 1);
  auto second = ConnectWorkers();
  ASSERT_EQ(second.size(), 1u);
  ASSERT_EQ(out_.executed.size(), 2u);
  EXPECT_EQ(out_.executed[1].second.spec.task_id, inner.task_id);
  Finish(second[0], inner);
  core_->OnWorkerUnblocked(first[0]);
  EXPECT_DOUBLE_EQ(core_->state().pool.Available("CPU"), 0) << "outer has its CPU again";
}

TEST_F(RayletCoreTest, PipelinesABacklogBehindBusyWorkers) {
  Start({{"CPU", 1}});
  std::vector<proto::TaskSpec> tasks;
  for (int i = 0; i < 8; ++i) tasks.push_back(Task("t" + std::to_string(i)));
  core_->Submit(tasks[0]);
  auto w = ConnectWorkers();
  for (int i = 1; i < 8; ++i) core_->Submit(tasks[i]);
  EXPECT_EQ(out_.ExecutedOn(w[0]).size(), 4u) << "the pipeline depth";
  EXPECT_EQ(core_->state().workers.at(w[0]).assigned.size(), 4u);
  EXPECT_DOUBLE_EQ(core_->state().pool.Available("CPU"), 0) << "one CPU for the whole lease";
}

TEST_F(RayletCoreTest, FailsQueuedTasksWhenWorkersCannotStart) {
  Start({{"CPU", 1}});
  host_.fail_launch = true;
  auto t = Task("t");
  core_->Submit(t);  // the first launch fails
  for (int i = 0; i < 3; ++i) core_->Schedule();
  EXPECT_NE(ErrorOf(t.return_ids[0]).find("RayWorkerException: worker processes fail to start"),
            std::string::npos)
      << ErrorOf(t.return_ids[0]);
}

TEST_F(RayletCoreTest, MissingShimFailsTasksSayingWhatIsMissing) {
  Start({{"CPU", 1}});
  host_.files_exist = false;
  auto t = Task("t");
  core_->Submit(t);
  timer_.Advance(std::chrono::milliseconds(0));
  EXPECT_NE(ErrorOf(t.return_ids[0]).find("/bin/driver is missing"), std::string::npos)
      << ErrorOf(t.return_ids[0]);
  EXPECT_TRUE(host_.launches.empty());
}

TEST_F(RayletCoreTest, TasksOfAJobWhoseShippedCodeCannotBeWrittenFailSayingWhy) {
  Start({{"CPU", 1}});
  auto t = Task("elsewhere");
  t.job_id = "J002";  // its driver is on another node and ships its code
  core_->Submit(t);
  ASSERT_EQ(out_.job_lookups.count("J002"), 1u);
  proto::JobInfo info;
  info.job_id = "J002";
  info.executable = "/bin/driver";
  info.ships_code = true;
  info.driver_node = "node-B";
  out_.job_lookups.at("J002")(info);
  host_.install = Status(Errc::kIoError, "cannot write shipped code to /tmp/session/code/x");
  out_.code_fetches.at("J002")(proto::CodePackage{{"driver", "\x7f" "ELF"}});
  EXPECT_NE(ErrorOf(t.return_ids[0]).find("cannot start workers of this job: cannot write"),
            std::string::npos)
      << ErrorOf(t.return_ids[0]);
  EXPECT_TRUE(core_->state().job_lookups.empty()) << "a later task asks the GCS again";
  EXPECT_TRUE(host_.launches.empty());
}

// -- task retries -------------------------------------------------------------------

TEST_F(RayletCoreTest, RetriesATaskWhoseWorkerDiedWithinMaxRetries) {
  Start({{"CPU", 1}});
  auto t = Task("flaky", 1, /*max_retries=*/1);
  core_->Submit(t);
  auto w1 = ConnectWorkers();
  Die(w1[0]);
  EXPECT_TRUE(ErrorOf(t.return_ids[0]).empty());
  EXPECT_EQ(out_.gone_workers, w1) << "the object manager drops the dead worker's pins";
  auto w2 = ConnectWorkers();
  ASSERT_EQ(w2.size(), 1u);
  EXPECT_EQ(out_.ExecutedOn(w2[0]), std::vector<std::string>{t.task_id});
  Die(w2[0]);
  EXPECT_NE(ErrorOf(t.return_ids[0]).find("RayWorkerException"), std::string::npos);
  EXPECT_NE(ErrorOf(t.return_ids[0]).find("(after 1 retries)"), std::string::npos)
      << ErrorOf(t.return_ids[0]);
}

TEST_F(RayletCoreTest, TaskWithoutRetriesFailsWhenItsWorkerDies) {
  Start({{"CPU", 1}});
  auto t = Task("once");
  core_->Submit(t);
  auto w = ConnectWorkers();
  Die(w[0]);
  EXPECT_NE(ErrorOf(t.return_ids[0]).find("running task once died: killed by signal"),
            std::string::npos)
      << ErrorOf(t.return_ids[0]);
  EXPECT_TRUE(core_->state().tasks.empty());
}

TEST_F(RayletCoreTest, RetryExceptionsRunsATaskAgainAfterItThrew) {
  Start({{"CPU", 1}});
  auto t = Task("throws", 1, 2);
  t.retry_exceptions = true;
  core_->Submit(t);
  auto w = ConnectWorkers();
  Finish(w[0], t, /*user_error=*/true);
  EXPECT_TRUE(out_.Stored(t.return_ids[0]).empty()) << "not stored: it runs again";
  EXPECT_EQ(out_.ExecutedOn(w[0]).size(), 2u);
  Finish(w[0], t);
  EXPECT_EQ(out_.Stored(t.return_ids[0]).size(), 1u);
}

TEST_F(RayletCoreTest, QueuedTasksOfADeadWorkerRunElsewhereWithoutCountingARetry) {
  Start({{"CPU", 1}});
  std::vector<proto::TaskSpec> tasks;
  for (int i = 0; i < 4; ++i) tasks.push_back(Task("q" + std::to_string(i)));
  core_->Submit(tasks[0]);
  auto w = ConnectWorkers();
  for (int i = 1; i < 4; ++i) core_->Submit(tasks[i]);
  ASSERT_GT(core_->state().workers.at(w[0]).assigned.size(), 1u);
  Die(w[0]);
  EXPECT_FALSE(ErrorOf(tasks[0].return_ids[0]).empty()) << "the running one fails";
  for (int i = 1; i < 4; ++i) EXPECT_TRUE(ErrorOf(tasks[i].return_ids[0]).empty());
  auto w2 = ConnectWorkers();
  ASSERT_EQ(w2.size(), 1u);
  EXPECT_EQ(out_.ExecutedOn(w2[0]).front(), tasks[1].task_id) << "in their order";
}

// -- actors --------------------------------------------------------------------------

TEST_F(RayletCoreTest, ActorRestartsWithinMaxRestartsAndRunsRetriedCallsInOrder) {
  Start({{"CPU", 1}});
  auto ctor = ActorCreation("counter", /*max_restarts=*/1);
  core_->Submit(ctor);
  auto w1 = ConnectWorkers();
  ASSERT_EQ(out_.ExecutedOn(w1[0]), std::vector<std::string>{ctor.task_id});
  Finish(w1[0], ctor);
  EXPECT_EQ(core_->state().actors.at(ctor.actor_id).state, ActorState::kAlive);
  auto c1 = ActorCall(ctor, "c1", 1), c2 = ActorCall(ctor, "c2", 1), c3 = ActorCall(ctor, "c3", 0);
  for (auto* c : {&c1, &c2, &c3}) core_->Submit(*c);
  EXPECT_EQ(out_.ExecutedOn(w1[0]).size(), 4u) << "calls go out in order as they resolve";

  Die(w1[0]);
  EXPECT_EQ(core_->state().actors.at(ctor.actor_id).state, ActorState::kRestarting);
  EXPECT_NE(ErrorOf(c3.return_ids[0]).find("RayActorException"), std::string::npos)
      << "a call without retries fails";
  auto w2 = ConnectWorkers();
  ASSERT_EQ(w2.size(), 1u);
  ASSERT_EQ(out_.ExecutedOn(w2[0]), std::vector<std::string>{ctor.task_id})
      << "the constructor runs again first";
  Finish(w2[0], ctor);
  EXPECT_EQ(out_.ExecutedOn(w2[0]),
            (std::vector<std::string>{ctor.task_id, c1.task_id, c2.task_id}));
  EXPECT_EQ(core_->state().actors.at(ctor.actor_id).restarts, 1);
}

TEST_F(RayletCoreTest, ACallSentAfterItsCallerSawTheWorkerDieWaitsForTheRestart) {
  Start({{"CPU", 1}});
  auto ctor = ActorCreation("restartable", 1);
  core_->Submit(ctor);
  auto w1 = ConnectWorkers();
  Finish(w1[0], ctor);
  // The caller saw the worker die before the raylet did: the call says so.
  auto call = ActorCall(ctor, "after-death");
  call.failed_worker = w1[0];
  core_->Submit(call);
  EXPECT_EQ(out_.ExecutedOn(w1[0]).size(), 2u) << "the raylet does not know yet";
  Die(w1[0]);
  EXPECT_TRUE(ErrorOf(call.return_ids[0]).empty()) << ErrorOf(call.return_ids[0]);
  auto w2 = ConnectWorkers();
  Finish(w2[0], ctor);
  EXPECT_EQ(out_.ExecutedOn(w2[0]), (std::vector<std::string>{ctor.task_id, call.task_id}));
}

TEST_F(RayletCoreTest, ActorIsDeadAfterMaxRestartsAndItsCallsFail) {
  Start({{"CPU", 1}});
  auto ctor = ActorCreation("fragile", 0);
  core_->Submit(ctor);
  auto w = ConnectWorkers();
  Finish(w[0], ctor);
  auto call = ActorCall(ctor, "work");
  core_->Submit(call);
  Die(w[0]);
  EXPECT_EQ(core_->state().actors.at(ctor.actor_id).state, ActorState::kDead);
  EXPECT_NE(ErrorOf(call.return_ids[0]).find("RayActorException"), std::string::npos);
  auto later = ActorCall(ctor, "later");
  core_->Submit(later);
  EXPECT_NE(ErrorOf(later.return_ids[0]).find("is dead"), std::string::npos)
      << ErrorOf(later.return_ids[0]);
  ASSERT_FALSE(out_.actor_updates.empty());
  EXPECT_EQ(out_.actor_updates.back().state, "DEAD") << "the GCS learns of it";
}

TEST_F(RayletCoreTest, KillWithoutRestartEndsTheActorAndItsQueuedCalls) {
  Start({{"CPU", 1}});
  auto ctor = ActorCreation("victim", -1);
  core_->Submit(ctor);
  auto w = ConnectWorkers();
  Finish(w[0], ctor);
  auto call = ActorCall(ctor, "pending");
  core_->Submit(call);
  core_->Kill(ctor.actor_id, /*no_restart=*/true);
  EXPECT_EQ(host_.signals.back(), std::make_pair(core_->state().workers.at(w[0]).pid, SIGKILL));
  EXPECT_NE(ErrorOf(call.return_ids[0]).find("killed by ray::Kill"), std::string::npos)
      << ErrorOf(call.return_ids[0]);
  EXPECT_EQ(core_->state().actors.at(ctor.actor_id).state, ActorState::kDead);
}

TEST_F(RayletCoreTest, ConstructorThatThrowsMakesTheActorDead) {
  Start({{"CPU", 1}});
  auto ctor = ActorCreation("bad", 3);
  core_->Submit(ctor);
  auto w = ConnectWorkers();
  proto::ExecReply reply;
  reply.task_id = ctor.task_id;
  reply.worker_id = w[0];
  reply.user_error = true;
  proto::ErrorInfo info{0, "std::runtime_error", "no config", "bad"};
  reply.results.push_back({ctor.return_ids[0], static_cast<uint8_t>(proto::ObjectKind::kError),
                           proto::Encode(info), -1, 0});
  core_->HandleDone(reply);
  const auto& a = core_->state().actors.at(ctor.actor_id);
  EXPECT_EQ(a.state, ActorState::kDead);
  EXPECT_EQ(a.death_cause, "its constructor threw std::runtime_error: no config");
  EXPECT_EQ(out_.exited, w) << "its worker is told to exit";
}

// -- other nodes ---------------------------------------------------------------------

TEST_F(RayletCoreTest, NodeDeathRetriesItsTasksHereOrFailsThem) {
  Start({{"CPU", 1}});
  AddPeer("node-B", {{"CPU", 8}, {"GPU", 1}});
  auto retried = Task("retried", 0, 1), lost = Task("lost", 0, 0);
  retried.resources = lost.resources = {{"GPU", 1}};
  retried.resources["CPU"] = 0.5;
  core_->Submit(retried);
  core_->Submit(lost);
  ASSERT_EQ(out_.to_peer.size(), 2u);
  core_->OnNodeRemoved("node-B", "missed heartbeats");
  EXPECT_NE(ErrorOf(lost.return_ids[0]).find("was running on node"), std::string::npos)
      << ErrorOf(lost.return_ids[0]);
  EXPECT_TRUE(ErrorOf(retried.return_ids[0]).empty());
  EXPECT_EQ(core_->state().tasks.at(retried.task_id).attempts, 1) << "back here, one retry spent";
  EXPECT_TRUE(core_->state().peers.empty());
}

TEST_F(RayletCoreTest, ActorPlacedOnADeadNodeRestartsElsewhere) {
  Start({{"CPU", 0.5}});
  AddPeer("node-B", {{"CPU", 4}});
  auto ctor = ActorCreation("mover", 2);
  ctor.resources = {{"CPU", 1}};
  core_->Submit(ctor);
  ASSERT_EQ(out_.to_peer.size(), 1u);
  AddPeer("node-C", {{"CPU", 4}});
  core_->OnNodeRemoved("node-B", "crashed");
  ASSERT_EQ(out_.to_peer.size(), 2u);
  EXPECT_EQ(out_.to_peer[1].first, "node-C");
  EXPECT_EQ(out_.to_peer[1].second.max_restarts, 1) << "one restart spent";
  EXPECT_EQ(core_->state().actor_home.at(ctor.actor_id), "node-C");
}

TEST_F(RayletCoreTest, CallsToAnActorElsewhereWaitForTheGcsThenGoToItsNode) {
  Start({{"CPU", 1}});
  AddPeer("node-B", {{"CPU", 4}});
  auto ctor = ActorCreation("remote", 0);
  auto c1 = ActorCall(ctor, "c1"), c2 = ActorCall(ctor, "c2");
  core_->Submit(c1);
  core_->Submit(c2);
  ASSERT_EQ(out_.actor_lookups.size(), 1u) << "one lookup for both";
  proto::ActorInfo info;
  info.actor_id = ctor.actor_id;
  info.state = "ALIVE";
  info.node_id = "node-B";
  out_.actor_lookups.begin()->second(info);
  ASSERT_EQ(out_.to_peer.size(), 2u);
  EXPECT_EQ(out_.to_peer[0].second.task_id, c1.task_id);
  EXPECT_EQ(out_.to_peer[1].second.task_id, c2.task_id);
}

TEST_F(RayletCoreTest, PrunesPeersThatDidNotRejoinARestartedGcs) {
  Start({{"CPU", 1}}, "127.0.0.1:6379");
  AddPeer("node-B", {{"CPU", 1}});
  AddPeer("node-C", {{"CPU", 1}});
  core_->OnGcsLost();
  core_->OnGcsBack();
  proto::NodeRecord b;
  b.node_id = "node-B";
  core_->OnHeartbeatReply({b});
  EXPECT_EQ(core_->state().peers.size(), 2u) << "not before the grace period";
  timer_.Advance(std::chrono::seconds(4));
  core_->OnHeartbeatReply({b});
  EXPECT_EQ(core_->state().peers.size(), 1u);
  EXPECT_EQ(core_->state().peers.count("node-B"), 1u);
}

// -- lineage, rebuilds, releases and pins ----------------------------------------------

TEST_F(RayletCoreTest, RebuildRunsTheTaskFromTheLineageLogAgain) {
  Start({{"CPU", 1}});
  auto t = Task("producer");
  const std::string object = t.return_ids[0];
  events::Recorder::Instance().Take();
  core_->Rebuild(object, "its node died");
  ASSERT_EQ(out_.lineage_fetches.count(object), 1u);
  out_.lineage_fetches[object](t);
  EXPECT_EQ(core_->state().rebuilds, 1u);
  auto recorded = events::Recorder::Instance().Take().Expand();
  ASSERT_EQ(recorded.size(), 1u) << "the timeline shows the rebuild";
  EXPECT_EQ(recorded[0].type, "rebuild");
  EXPECT_EQ(recorded[0].task_id, t.task_id);
  EXPECT_EQ(recorded[0].extra.at(0).second, ids::Hex(object));
  EXPECT_EQ(out_.subscribed.back(), t.return_ids) << "the object manager learns where it appears";
  auto w = ConnectWorkers();
  ASSERT_EQ(out_.ExecutedOn(w[0]), std::vector<std::string>{t.task_id});
  core_->Rebuild(object, "asked twice");
  EXPECT_EQ(out_.lineage_fetches.size(), 1u) << "already being rebuilt: no second run";
}

TEST_F(RayletCoreTest, RebuildsAChainOfLostObjectsFromTheFirstOne) {
  Start({{"CPU", 1}});
  auto first = Task("first"), second = Task("second");
  second.args.push_back({true, first.return_ids[0], ""});
  // The second result is lost; so is the first, which it takes as an argument.
  core_->Rebuild(second.return_ids[0], "its node died");
  out_.lineage_fetches.at(second.return_ids[0])(second);
  ASSERT_EQ(out_.gets.size(), 1u);
  EXPECT_EQ(out_.gets[0].first, std::vector<std::string>{first.return_ids[0]});
  // The object manager finds the argument lost and asks for it to be rebuilt too.
  core_->Rebuild(first.return_ids[0], "its node died");
  out_.lineage_fetches.at(first.return_ids[0])(first);
  auto w = ConnectWorkers();
  ASSERT_EQ(out_.ExecutedOn(w[0]), std::vector<std::string>{first.task_id}) << "first runs first";
  Finish(w[0], first);
  out_.gets[0].second(out_.Stored(first.return_ids[0]));  // the argument is back
  EXPECT_EQ(out_.ExecutedOn(w[0]), (std::vector<std::string>{first.task_id, second.task_id}));
  Finish(w[0], second);
  EXPECT_EQ(out_.Stored(second.return_ids[0]).back().data, "ok:second");
  EXPECT_EQ(core_->state().rebuilds, 2u);
  EXPECT_TRUE(core_->state().rebuilding.empty());
}

TEST_F(RayletCoreTest, RebuildOfAnObjectMadeByPutFailsAsLost) {
  Start({{"CPU", 1}});
  std::string put_id = ids::ObjectId(ids::Derive("driver-task", 0), ids::kPutIndexFlag | 1);
  core_->Rebuild(put_id, "evicted");
  EXPECT_NE(ErrorOf(put_id).find("ObjectLostException"), std::string::npos);
  EXPECT_NE(ErrorOf(put_id).find("ray::Put, which cannot be replayed"), std::string::npos);
  EXPECT_TRUE(out_.lineage_fetches.empty());
}

TEST_F(RayletCoreTest, RebuildFailsWhenTheLineageRecordIsGone) {
  Start({{"CPU", 1}});
  auto t = Task("collected");
  core_->Rebuild(t.return_ids[0], "its node died");
  out_.lineage_fetches.begin()->second(Status(Errc::kNotFound, "none"));
  EXPECT_NE(ErrorOf(t.return_ids[0]).find("not in the lineage log"), std::string::npos);
  EXPECT_TRUE(core_->state().rebuilding.empty());
}

TEST_F(RayletCoreTest, ReleasesReachTheGcsAfterTheLineageTheyConcern) {
  Start({{"CPU", 1}});
  auto t = Task("t");
  core_->Submit(t);
  core_->OnRelease(t.return_ids[0], true);
  EXPECT_EQ(out_.released.back(), std::make_pair(t.return_ids[0], true));
  EXPECT_TRUE(out_.reported_released.empty()) << "batched";
  timer_.Advance(std::chrono::milliseconds(20));
  EXPECT_EQ(out_.gcs_order, (std::vector<std::string>{"lineage", "released"}));
}

TEST_F(RayletCoreTest, AnObjectATaskTookAsArgumentIsReleasedButNotFreed) {
  Start({{"CPU", 1}});
  auto producer = Task("producer"), consumer = Task("consumer");
  consumer.args.push_back({true, producer.return_ids[0], ""});
  core_->Submit(consumer);
  core_->OnRelease(producer.return_ids[0], /*may_free=*/true);
  EXPECT_EQ(out_.released.back(), std::make_pair(producer.return_ids[0], false));
}

TEST_F(RayletCoreTest, SharedMemoryArgumentsAreUnpinnedWhenTheTaskEnds) {
  Start({{"CPU", 1}});
  auto producer = Task("producer"), consumer = Task("consumer");
  consumer.args.push_back({true, producer.return_ids[0], ""});
  core_->Submit(consumer);
  ASSERT_EQ(out_.gets.size(), 1u) << "its argument is fetched first";
  EXPECT_TRUE(host_.launches.empty()) << "no worker until the argument is here";
  proto::ObjectEntry shm{producer.return_ids[0], static_cast<uint8_t>(proto::ObjectKind::kShm), "",
                         4096, 1 << 20};
  out_.gets[0].second(std::vector<proto::ObjectEntry>{shm});
  auto w = ConnectWorkers();
  ASSERT_EQ(out_.executed.size(), 1u);
  EXPECT_EQ(out_.executed[0].second.resolved.at(0).offset, 4096);
  EXPECT_TRUE(out_.unpinned.empty()) << "pinned while it runs";
  Finish(w[0], consumer);
  EXPECT_EQ(out_.unpinned, (std::vector<std::vector<std::string>>{{producer.return_ids[0]}}));
}

TEST_F(RayletCoreTest, AFailedArgumentBecomesTheTasksError) {
  Start({{"CPU", 1}});
  auto producer = Task("producer"), consumer = Task("consumer");
  consumer.args.push_back({true, producer.return_ids[0], ""});
  core_->Submit(consumer);
  auto failed = ErrorEntry(producer.return_ids[0], proto::ErrorKind::kTask, "RayTaskException",
                           "boom", "producer");
  out_.gets[0].second(std::vector<proto::ObjectEntry>{failed});
  EXPECT_EQ(ErrorOf(consumer.return_ids[0]), "RayTaskException: boom");
  EXPECT_TRUE(host_.launches.empty());
}

TEST_F(RayletCoreTest, ADriverExitEndsItsActorsAndKillsItsWorkers) {
  Start({{"CPU", 1}});
  auto ctor = ActorCreation("owned", -1);
  core_->Submit(ctor);
  auto w = ConnectWorkers();
  Finish(w[0], ctor);
  core_->OnDriverGone(kJob, {kDriver});
  EXPECT_EQ(core_->state().actors.at(ctor.actor_id).state, ActorState::kDead);
  EXPECT_EQ(core_->state().actors.at(ctor.actor_id).death_cause, "its driver exited");
  EXPECT_EQ(host_.signals.back().second, SIGKILL);
  core_->Submit(Task("after"));
  EXPECT_EQ(host_.launches.size(), 1u) << "nothing of a finished job starts again";
}

TEST_F(RayletCoreTest, ADetachedActorOutlivesItsDriverAndRestartsAfterIt) {
  Start({{"CPU", 1}});
  auto detached = ActorCreation("detached", -1);
  detached.detached = true;
  auto mortal = ActorCreation("mortal", -1);
  core_->Submit(detached);
  core_->Submit(mortal);
  auto w = ConnectWorkers();
  ASSERT_EQ(w.size(), 2u);
  const std::string& detached_worker = core_->state().actors.at(detached.actor_id).worker_id;
  Finish(detached_worker, detached);
  Finish(core_->state().actors.at(mortal.actor_id).worker_id, mortal);
  core_->OnDriverGone(kJob, {kDriver});
  EXPECT_EQ(core_->state().actors.at(mortal.actor_id).state, ActorState::kDead);
  EXPECT_EQ(core_->state().actors.at(detached.actor_id).state, ActorState::kAlive);
  const pid_t detached_pid = core_->state().workers.at(detached_worker).pid;
  for (const auto& [pid, sig] : host_.signals) EXPECT_NE(pid, detached_pid) << "its worker was signalled";
  // Calls from another job's driver still reach it.
  auto call = ActorCall(detached, "after");
  call.job_id = "J002";
  core_->Submit(call);
  EXPECT_EQ(out_.executed.back().second.spec.task_id, call.task_id);
  // Its process dies: it restarts, although its job ended.
  const size_t launches = host_.launches.size();
  Die(detached_worker);
  EXPECT_EQ(core_->state().actors.at(detached.actor_id).state, ActorState::kRestarting);
  EXPECT_EQ(host_.launches.size(), launches + 1) << "no worker started for the restart";
}

TEST_F(RayletCoreTest, ActorsDieWithTheWorkerThatCreatedThemUnlessDetached) {
  Start({{"CPU", 1}});
  auto parent = ActorCreation("parent", 0);
  core_->Submit(parent);
  auto w = ConnectWorkers();
  Finish(w[0], parent);
  // The parent's worker creates two actors of its own.
  auto child = ActorCreation("child", 3);
  child.caller_id = w[0];
  auto detached_child = ActorCreation("detached-child", 0);
  detached_child.caller_id = w[0];
  detached_child.detached = true;
  core_->Submit(child);
  core_->Submit(detached_child);
  auto more = ConnectWorkers();
  ASSERT_EQ(more.size(), 2u);
  Finish(core_->state().actors.at(child.actor_id).worker_id, child);
  Finish(core_->state().actors.at(detached_child.actor_id).worker_id, detached_child);
  const pid_t child_pid =
      core_->state().workers.at(core_->state().actors.at(child.actor_id).worker_id).pid;
  Die(w[0]);
  const auto& dead = core_->state().actors.at(child.actor_id);
  EXPECT_EQ(dead.state, ActorState::kDead) << "restarted or left running: max_restarts ignored";
  EXPECT_NE(dead.death_cause.find("its owner"), std::string::npos) << dead.death_cause;
  EXPECT_NE(std::find(host_.signals.begin(), host_.signals.end(), std::make_pair(child_pid, SIGKILL)),
            host_.signals.end())
      << "the child's process was not killed";
  EXPECT_EQ(core_->state().actors.at(detached_child.actor_id).state, ActorState::kAlive);
  // Drivers calling the actors direct through this node hear of both deaths.
  EXPECT_NE(std::find(out_.told_gone.begin(), out_.told_gone.end(), std::make_pair(kDriver, w[0])),
            out_.told_gone.end());
}

TEST_F(RayletCoreTest, AnActorPlacedOnAnotherNodeIsKilledThereWhenItsOwnerDies) {
  Start({{"CPU", 1}});
  AddPeer("node-B", {{"CPU", 1}, {"far", 1}});
  auto parent = ActorCreation("parent", 0);
  core_->Submit(parent);
  auto w = ConnectWorkers();
  Finish(w[0], parent);
  auto child = ActorCreation("far-child", 0);
  child.caller_id = w[0];
  child.resources = {{"far", 1}};
  core_->Submit(child);
  ASSERT_FALSE(out_.to_peer.empty());
  EXPECT_EQ(out_.to_peer.back().first, "node-B");
  Die(w[0]);
  ASSERT_FALSE(out_.kills.empty()) << "the node hosting the child was not told";
  EXPECT_EQ(out_.kills.back(), std::make_tuple(std::string("node-B"), child.actor_id, true));
}

TEST_F(RayletCoreTest, WorkersArePooledPerRuntimeEnvAndStartWithItsVariables) {
  Start({{"CPU", 2}});
  core_->Submit(Task("plain"));
  auto w = ConnectWorkers();
  ASSERT_EQ(w.size(), 1u);
  Finish(w[0], Task("plain"));  // an idle worker of no env
  auto with_env = Task("with-env");
  with_env.runtime_env = R"({"env_vars":{"COLOR":"blue"}})";
  core_->Submit(with_env);
  EXPECT_NE(out_.executed.back().second.spec.task_id, with_env.task_id)
      << "ran in a worker of another env";
  ASSERT_EQ(host_.launches.size(), 2u);
  EXPECT_EQ(host_.launches.back().env.at("COLOR"), "blue");
  auto started = ConnectWorkers();
  ASSERT_EQ(started.size(), 1u);
  EXPECT_EQ(out_.executed.back().second.spec.task_id, with_env.task_id);
  EXPECT_EQ(out_.executed.back().first, started[0]);
}

TEST_F(RayletCoreTest, AWorkingDirIsFetchedWrittenThenWorkersStartInIt) {
  Start({{"CPU", 2}});
  auto task = Task("in-dir");
  task.runtime_env = R"({"working_dir":"gcs://working_dir_abc"})";
  core_->Submit(task);
  EXPECT_TRUE(host_.launches.empty()) << "a worker started before its working_dir was here";
  ASSERT_EQ(out_.code_fetches.count("working_dir_abc"), 1u);
  out_.code_fetches["working_dir_abc"](proto::CodePackage{{"data/input.txt", "42"}});
  ASSERT_EQ(host_.working_dirs.size(), 1u);
  EXPECT_EQ(host_.working_dirs[0].first, "/tmp/session/runtime_resources/working_dir_abc");
  ASSERT_EQ(host_.launches.size(), 1u);
  EXPECT_EQ(host_.launches[0].env.at("RAY_WORKING_DIR"),
            "/tmp/session/runtime_resources/working_dir_abc");
  // One that cannot be fetched fails what waits for it, saying why.
  auto lost = Task("lost-dir");
  lost.runtime_env = R"({"working_dir":"gcs://working_dir_gone"})";
  core_->Submit(lost);
  ASSERT_EQ(out_.code_fetches.count("working_dir_gone"), 1u);
  out_.code_fetches["working_dir_gone"](Status(Errc::kNotFound, "no such package"));
  EXPECT_NE(ErrorOf(lost.return_ids[0]).find("cannot fetch its working_dir"), std::string::npos)
      << ErrorOf(lost.return_ids[0]);
}

TEST_F(RayletCoreTest, ATaskForAResourceANodeGainsLaterGoesThereOnTheNextHeartbeat) {
  // A placement group's bundle is committed on node-B: its resources appear
  // in the totals the GCS hands out, not in those B registered with.
  Start({{"CPU", 1}});
  AddPeer("node-B", {{"CPU", 1}});
  auto task = Task("in-bundle", 0);
  task.resources = {{"CPU_group_0_ab", 1}};
  core_->Submit(task);
  EXPECT_TRUE(out_.to_peer.empty());
  proto::NodeRecord b;
  b.node_id = "node-B";
  b.total = {{"CPU", 1}, {"CPU_group_0_ab", 1}};
  b.available = b.total;
  core_->OnHeartbeatReply({b});
  ASSERT_FALSE(out_.to_peer.empty()) << "the task stayed where it can never run";
  EXPECT_EQ(out_.to_peer.back().first, "node-B");
  EXPECT_EQ(out_.to_peer.back().second.task_id, task.task_id);
}

// -- what `ray status` and `ray stack` show ------------------------------------------

TEST_F(RayletCoreTest, StatusSplitsWaitingDemandIntoPendingAndInfeasibleShapes) {
  Start({{"CPU", 1}});
  AddPeer("node-B", {{"CPU", 2}});
  auto big = Task("big", 8), small = Task("small", 1), next = Task("next", 1);
  core_->Submit(big);
  core_->Submit(small);
  core_->Submit(next);
  auto workers = ConnectWorkers();
  ASSERT_EQ(workers.size(), 1u);
  auto status = nlohmann::json::parse(core_->StatusJson());
  EXPECT_EQ(status["infeasible_demand"]["{CPU: 8}"], 1) << status.dump();
  EXPECT_EQ(status["resources_total"]["CPU"], 1.0);
  EXPECT_EQ(status["resources_available"]["CPU"], 0.0);
  // `next` waits here or was sent to node-B; either way nothing fits no node.
  EXPECT_FALSE(status["infeasible_demand"].contains("{CPU: 1}"));
  ASSERT_EQ(status["workers"].size(), 1u);
  EXPECT_EQ(status["workers"][0]["state"], "BUSY");
  EXPECT_EQ(status["workers"][0]["function"], "small");
}

TEST_F(RayletCoreTest, TasksPipelinedBehindABusyWorkerAreDemandAndMoveToANodeThatJoins) {
  Start({{"CPU", 1}});
  std::vector<proto::TaskSpec> tasks;
  for (int i = 0; i < 5; ++i) tasks.push_back(Task("t" + std::to_string(i)));
  core_->Submit(tasks[0]);
  auto w = ConnectWorkers();
  for (int i = 1; i < 5; ++i) core_->Submit(tasks[i]);
  ASSERT_EQ(core_->state().workers.at(w[0]).assigned.size(), 4u) << "3 wait behind the first";
  auto status = nlohmann::json::parse(core_->StatusJson());
  ASSERT_EQ(status["resource_demand"].size(), 1u) << status.dump();
  EXPECT_EQ(status["resource_demand"][0]["count"], 4) << "the 3 pipelined and the queued one";
  EXPECT_EQ(status["resource_demand"][0]["shape"], nlohmann::json({{"CPU", 1.0}}));
  EXPECT_EQ(status["pending_demand"]["{CPU: 1}"], 4);

  // A heartbeat with no room anywhere takes nothing back.
  core_->OnHeartbeatReply({});
  EXPECT_TRUE(out_.steals.empty());
  // A node with 4 free CPUs joins: the queued task spills there at once, and
  // the next heartbeat takes the pipelined ones back so that they follow.
  AddPeer("node-B", {{"CPU", 4}});
  EXPECT_EQ(out_.to_peer.size(), 1u);
  proto::NodeRecord b;
  b.node_id = "node-B";
  b.available = {{"CPU", 3}};
  core_->OnHeartbeatReply({b});
  ASSERT_EQ(out_.steals.size(), 1u);
  EXPECT_EQ(out_.steals[0].first, w[0]);
  core_->OnHeartbeatReply({b});
  EXPECT_EQ(out_.steals.size(), 1u) << "one steal at a time";
  std::vector<std::string> queued(core_->state().workers.at(w[0]).assigned.begin() + 1,
                                  core_->state().workers.at(w[0]).assigned.end());
  out_.steals[0].second(queued);
  EXPECT_EQ(core_->state().workers.at(w[0]).assigned.size(), 1u);
  EXPECT_EQ(out_.to_peer.size(), 4u) << "the 3 taken back went to node-B";
}

// Tasks a CPU-less head handed to the first node that joined (hops 1) move on
// to a node with room that joins later, up to kMaxRoomHops in all.
TEST_F(RayletCoreTest, ForwardedTasksWaitingForRoomMoveOnToANodeWithRoom) {
  Start({{"CPU", 1}});
  auto a = Task("a"), b = Task("b"), c = Task("c");
  a.hops = b.hops = 1;
  c.hops = kMaxRoomHops;
  for (auto* t : {&a, &b, &c}) core_->Submit(*t);
  auto w = ConnectWorkers();
  ASSERT_EQ(core_->state().workers.at(w[0]).assigned.size(), 3u) << "b and c wait behind a";
  EXPECT_TRUE(out_.to_peer.empty());
  AddPeer("node-B", {{"CPU", 4}});
  proto::NodeRecord room;
  room.node_id = "node-B";
  room.available = {{"CPU", 4}};
  core_->OnHeartbeatReply({room});
  ASSERT_EQ(out_.steals.size(), 1u);
  out_.steals[0].second(std::vector<std::string>{b.task_id, c.task_id});
  ASSERT_EQ(out_.to_peer.size(), 1u) << "b moves on; c has made its hops";
  EXPECT_EQ(out_.to_peer[0].second.task_id, b.task_id);
  EXPECT_EQ(out_.to_peer[0].second.hops, 2);
}

// A queued task that found no peer with room when it was spilled goes once a
// heartbeat shows one: the fake_multinode burst sometimes had two tasks wait
// on the busy head while three new nodes sat idle until they were removed.
TEST_F(RayletCoreTest, QueuedTasksSpillWhenAHeartbeatShowsAPeerWithRoom) {
  Start({{"CPU", 2}});
  auto big = Task("big", 2), b = Task("b"), c = Task("c");
  core_->Submit(big);
  ConnectWorkers();
  ASSERT_EQ(out_.executed.size(), 1u);
  core_->Submit(b);
  core_->Submit(c);
  ASSERT_EQ(core_->state().ready.size(), 2u) << "they wait: big holds both CPUs";
  AddPeer("node-B", {{"CPU", 1}});
  ASSERT_EQ(out_.to_peer.size(), 1u) << "one fits node-B's free CPU; the other has none left";
  proto::NodeRecord room;
  room.node_id = "node-B";
  room.available = {{"CPU", 1}};
  core_->OnHeartbeatReply({room});
  ASSERT_EQ(out_.to_peer.size(), 2u) << "the heartbeat shows room again: the other goes too";
  EXPECT_EQ(out_.to_peer[1].second.task_id, c.task_id);
  EXPECT_TRUE(core_->state().ready.empty());
}

TEST_F(RayletCoreTest, WorkersShowWhatEachRunsForRayStack) {
  Start({{"CPU", 2}});
  auto creation = ActorCreation("counter", 0);
  core_->Submit(creation);
  core_->Submit(Task("busy"));
  ConnectWorkers();
  std::map<std::string, WorkerView> by_function;
  for (const auto& w : core_->Workers()) by_function[w.function] = w;
  ASSERT_TRUE(by_function.count("busy"));
  EXPECT_GT(by_function["busy"].pid, 0);
  EXPECT_EQ(by_function["busy"].task_id, Task("busy").task_id);
  bool actor_seen = false;
  for (const auto& w : core_->Workers()) {
    if (w.actor_id == creation.actor_id) actor_seen = w.actor_class == creation.function;
  }
  EXPECT_TRUE(actor_seen);
}

}  // namespace
}  // namespace ray::raylet
