// The autoscaler's rules, deterministically: a fake cluster view and fake
// provider nodes go in, launches and terminations (with reasons) come out.
// The same rules on real processes: autoscaling_test.cc.
#include "tools/ray/autoscaler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ray::cli {
namespace {

using ::testing::HasSubstr;

ClusterConfig Config(int max_workers = 3, int type_max = 3, int type_min = 0) {
  ClusterConfig c;
  c.cluster_name = "t";
  c.max_workers = max_workers;
  c.provider.type = "fake_multinode";
  c.head_node_type = "head";
  c.available_node_types["head"].resources = {{"CPU", 1}};
  NodeType cpu;
  cpu.resources = {{"CPU", 1}};
  cpu.min_workers = type_min;
  cpu.max_workers = type_max;
  c.available_node_types["cpu"] = cpu;
  NodeType big;
  big.resources = {{"CPU", 4}};
  big.max_workers = 1;
  c.available_node_types["big"] = big;
  return c;
}

AutoscalerOptions Options() {
  AutoscalerOptions o;
  o.idle_timeout_s = 60;
  o.join_timeout_s = 30;
  o.backoff_base_s = 10;
  o.backoff_max_s = 40;
  return o;
}

ClusterNode Head(double free_cpu) {
  ClusterNode n;
  n.node_id = "h";
  n.address = "127.0.0.1:6379";
  n.is_head = true;
  n.total = {{"CPU", 1}};
  n.available = {{"CPU", free_cpu}};
  n.idle = free_cpu == 1;
  return n;
}

ClusterNode Worker(const std::string& address, bool idle, double total = 1) {
  ClusterNode n;
  n.node_id = address;
  n.address = address;
  n.total = {{"CPU", total}};
  n.available = {{"CPU", idle ? total : 0}};
  n.idle = idle;
  return n;
}

Demand Cpu(int count, double cpus = 1) { return Demand{{{"CPU", cpus}}, count, false}; }

int Launches(const std::vector<Action>& actions, const std::string& type) {
  int n = 0;
  for (const auto& a : actions) n += a.kind == Action::kLaunch && a.type == type;
  return n;
}

std::vector<std::string> Terminated(const std::vector<Action>& actions) {
  std::vector<std::string> ids;
  for (const auto& a : actions) {
    if (a.kind == Action::kTerminate) ids.push_back(a.node_id);
  }
  return ids;
}

TEST(Autoscaler, LaunchesTheSmallestTypeThatFitsUpToItsMaxAndNeverPast) {
  Autoscaler scaler(Config(), Options());
  ClusterView view{{Head(0)}, {Cpu(5)}};
  auto actions = scaler.Update(0, view, {}, {});
  EXPECT_EQ(Launches(actions, "cpu"), 3) << "5 tasks of {CPU: 1}, cpu's max_workers is 3";
  EXPECT_EQ(Launches(actions, "big"), 0) << "big fits too, but it is not the smallest";
  EXPECT_THAT(actions[0].reason, HasSubstr("demand {CPU: 1} fits no node's free resources"));
  // The next round: the launches are in progress; nothing more, whatever the demand.
  actions = scaler.Update(1, view, {}, {{"cpu", 3}});
  EXPECT_EQ(Launches(actions, "cpu"), 0);
  auto report = scaler.Report(1);
  EXPECT_EQ(report["node_types"]["cpu"]["starting"], 3);
  ASSERT_EQ(report["waiting"].size(), 1u);
  EXPECT_THAT(report["waiting"][0].get<std::string>(), HasSubstr("cpu is at its max_workers 3"));
}

TEST(Autoscaler, TheClusterMaxWorkersCapsEveryTypeTogether) {
  Autoscaler scaler(Config(/*max_workers=*/2), Options());
  auto actions = scaler.Update(0, {{Head(0)}, {Cpu(2, 4), Cpu(3)}}, {}, {});
  EXPECT_EQ(Launches(actions, "big"), 1) << "one {CPU: 4} per big node, big's max is 1";
  EXPECT_EQ(Launches(actions, "cpu"), 1) << "2 workers in all";
  EXPECT_THAT(scaler.Report(0)["waiting"].dump(), HasSubstr("the cluster is at max_workers 2"));
}

TEST(Autoscaler, DemandThatFitsFreeResourcesOrStartingNodesLaunchesNothing) {
  Autoscaler scaler(Config(), Options());
  // The head has a free CPU: the one queued task will run there.
  EXPECT_TRUE(scaler.Update(0, {{Head(1)}, {Cpu(1)}}, {}, {}).empty());
  // A worker handed out but not yet in the cluster holds one more.
  std::vector<WorkerNode> starting = {{"fake-1", "cpu", "127.0.0.1", "127.0.0.1:7001", 0}};
  EXPECT_TRUE(scaler.Update(1, {{Head(0)}, {Cpu(1)}}, starting, {}).empty());
  EXPECT_EQ(Launches(scaler.Update(2, {{Head(0)}, {Cpu(2)}}, starting, {}), "cpu"), 1);
}

TEST(Autoscaler, AShapeNoTypeCanHoldIsInfeasibleAndLaunchesNothing) {
  Autoscaler scaler(Config(), Options());
  ClusterView view{{Head(1)}, {Demand{{{"GPU", 8}}, 1, false}, Demand{{{"CPU", 16}}, 2, true}}};
  EXPECT_TRUE(scaler.Update(0, view, {}, {}).empty());
  auto report = scaler.Report(0);
  EXPECT_EQ(report["infeasible"], nlohmann::json({"{CPU: 16} (actor)", "{GPU: 8}"}));
}

TEST(Autoscaler, KeepsMinWorkers) {
  Autoscaler scaler(Config(3, 3, /*type_min=*/2), Options());
  auto actions = scaler.Update(0, {{Head(1)}, {}}, {}, {});
  EXPECT_EQ(Launches(actions, "cpu"), 2);
  EXPECT_THAT(actions[0].reason, HasSubstr("min_workers of cpu is 2"));
}

TEST(Autoscaler, TerminatesAWorkerIdleForTheTimeoutDownToMinWorkers) {
  Autoscaler scaler(Config(3, 3, /*type_min=*/1), Options());
  std::vector<WorkerNode> workers = {{"fake-1", "cpu", "127.0.0.1", "127.0.0.1:7001", 0},
                                     {"fake-2", "cpu", "127.0.0.1", "127.0.0.1:7002", 0}};
  ClusterView view{{Head(1), Worker("127.0.0.1:7001", true), Worker("127.0.0.1:7002", true)}, {}};
  EXPECT_TRUE(Terminated(scaler.Update(100, view, workers, {})).empty());
  EXPECT_TRUE(Terminated(scaler.Update(159, view, workers, {})).empty()) << "59 s idle of 60";
  // Busy again at 159.5: its idle time starts over.
  ClusterView busy = view;
  busy.nodes[1].idle = false;
  scaler.Update(159.5, busy, workers, {});
  auto actions = scaler.Update(160, view, workers, {});
  ASSERT_EQ(Terminated(actions), std::vector<std::string>{"fake-2"})
      << "fake-1 was busy half a second ago; one stays for min_workers 1";
  EXPECT_THAT(actions[0].reason, HasSubstr("idle for 60 s"));
  EXPECT_TRUE(Terminated(scaler.Update(300, view, {workers[0]}, {})).empty())
      << "the last one is the type's min_workers";
}

TEST(Autoscaler, AFailedLaunchBacksOffDoublingUpToTheCap) {
  Autoscaler scaler(Config(), Options());
  ClusterView view{{Head(0)}, {Cpu(1)}};
  ASSERT_EQ(Launches(scaler.Update(0, view, {}, {}), "cpu"), 1);
  scaler.LaunchFailed(1, "cpu", "ssh: connection refused");
  auto actions = scaler.Update(2, view, {}, {});
  EXPECT_EQ(Launches(actions, "cpu"), 0);
  EXPECT_EQ(Launches(actions, "big"), 1) << "another type that fits is not held back";
  EXPECT_EQ(Launches(scaler.Update(11, view, {}, {}), "cpu"), 1) << "10 s later";
  scaler.LaunchFailed(12, "cpu", "again");
  EXPECT_EQ(Launches(scaler.Update(31, view, {}, {}), "cpu"), 0) << "20 s now";
  EXPECT_EQ(Launches(scaler.Update(32, view, {}, {}), "cpu"), 1);
  scaler.LaunchFailed(33, "cpu", "again");
  scaler.LaunchFailed(34, "cpu", "again");
  auto report = scaler.Report(34);
  EXPECT_EQ(report["node_types"]["cpu"]["failures"], 4);
  EXPECT_DOUBLE_EQ(report["node_types"]["cpu"]["retry_in_s"].get<double>(), 40) << "the cap";
  EXPECT_EQ(report["node_types"]["cpu"]["last_error"], "again");
  EXPECT_THAT(report["decisions"].dump(), HasSubstr("ssh: connection refused; next try in 10 s"));
}

TEST(Autoscaler, ANodeThatNeverJoinsIsTerminatedAndItsTypeBacksOff) {
  Autoscaler scaler(Config(), Options());
  std::vector<WorkerNode> lost = {{"fake-1", "cpu", "127.0.0.1", "127.0.0.1:7001", 0}};
  ClusterView view{{Head(0)}, {Cpu(1)}};
  EXPECT_TRUE(scaler.Update(29, view, lost, {}).empty()) << "still within the join timeout";
  auto actions = scaler.Update(31, view, lost, {});
  ASSERT_EQ(Terminated(actions), std::vector<std::string>{"fake-1"});
  EXPECT_THAT(actions[0].reason, HasSubstr("did not join the cluster within 30 s"));
  EXPECT_EQ(Launches(actions, "cpu"), 0) << "cpu backs off";
  EXPECT_EQ(scaler.Report(31)["node_types"]["cpu"]["failures"], 1);
}

TEST(Autoscaler, ADefaultWorkerTypeIsAssumedLikeTheHeadUntilOneJoins) {
  ClusterConfig c;
  c.provider.type = "local";
  c.min_workers = 0;
  c.max_workers = 2;
  Autoscaler scaler(c, Options());
  ClusterNode head = Head(0);
  head.total = {{"CPU", 2}};
  head.available = {{"CPU", 0}};
  EXPECT_EQ(Launches(scaler.Update(0, {{head}, {Cpu(1, 2)}}, {}, {}), kDefaultWorkerType), 1);
  EXPECT_EQ(scaler.TypeResources(kDefaultWorkerType), (Resources{{"CPU", 2}}));
  std::vector<WorkerNode> joined = {{"127.0.0.2", kDefaultWorkerType, "127.0.0.2", "", 0}};
  ClusterNode worker = Worker("127.0.0.2:40000", false, 8);
  scaler.Update(1, {{head, worker}, {}}, joined, {});
  EXPECT_EQ(scaler.TypeResources(kDefaultWorkerType), (Resources{{"CPU", 8}}))
      << "matched by its host, learned from the node";
}

TEST(ClusterView, ReadsDemandAndIdlenessFromTheStatusReport) {
  const char* status = R"({"kind": "status", "nodes": [
    {"node_id": "a", "address": "127.0.0.1:1", "is_head": true, "state": "ALIVE",
     "report": {"resources_total": {"CPU": 1}, "resources_available": {"CPU": 0},
                "workers": [{"state": "BUSY", "actor_id": ""}], "queued_tasks": 3,
                "object_store": {"shared_memory_bytes": 0},
                "resource_demand": [{"shape": {"CPU": 1}, "count": 3, "actor": false}]}},
    {"node_id": "b", "address": "127.0.0.1:2", "is_head": false, "state": "ALIVE",
     "report": {"resources_total": {"CPU": 1}, "resources_available": {"CPU": 1},
                "workers": [{"state": "IDLE", "actor_id": ""}], "queued_tasks": 0,
                "object_store": {"shared_memory_bytes": 0}, "resource_demand": []}},
    {"node_id": "c", "address": "127.0.0.1:3", "is_head": false, "state": "ALIVE",
     "report": {"resources_total": {"CPU": 1}, "resources_available": {"CPU": 1},
                "workers": [{"state": "IDLE", "actor_id": "ff"}], "queued_tasks": 0,
                "object_store": {"shared_memory_bytes": 0}, "resource_demand": []}},
    {"node_id": "d", "address": "127.0.0.1:4", "is_head": false, "state": "ALIVE",
     "report": {"resources_total": {"CPU": 1}, "resources_available": {"CPU": 1},
                "workers": [], "queued_tasks": 0,
                "object_store": {"shared_memory_bytes": 4096}, "resource_demand": []}},
    {"node_id": "e", "address": "127.0.0.1:5", "is_head": false, "state": "ALIVE",
     "report": {"error": "timed out"}},
    {"node_id": "f", "address": "127.0.0.1:6", "is_head": false, "state": "DEAD"}]})";
  ClusterView view;
  std::string error;
  ASSERT_TRUE(ParseClusterView(status, &view, &error)) << error;
  ASSERT_EQ(view.nodes.size(), 5u) << "the dead node is left out";
  EXPECT_FALSE(view.nodes[0].idle);
  EXPECT_TRUE(view.nodes[1].idle);
  EXPECT_FALSE(view.nodes[2].idle) << "an actor lives there";
  EXPECT_FALSE(view.nodes[3].idle) << "it holds an object in shared memory";
  EXPECT_FALSE(view.nodes[4].idle) << "it did not answer";
  ASSERT_EQ(view.demand.size(), 1u);
  EXPECT_EQ(view.demand[0].count, 3);
  EXPECT_FALSE(ParseClusterView("{}", &view, &error));
}

}  // namespace
}  // namespace ray::cli
