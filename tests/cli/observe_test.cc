// `ray status`, `memory`, `stack`, `logs` and `timeline` against a real
// three-node cluster started with `ray start`, while observe_driver runs on
// it (nested tasks across nodes, an actor that prints, ray::Profile spans, an
// object in shared memory, a task blocked in a distinctively named function).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "tests/cli/cluster_fixture.h"

namespace ray::cli::testing {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;

json ReadJson(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return json::parse(ss.str(), nullptr, false);
}


using CommandTest = ClusterTest;

TEST_F(CommandTest, NeedAnAddressAndSayHowToGiveOne) {
  for (const char* command : {"status", "memory", "stack", "logs", "timeline"}) {
    RunResult r = Ray({command}, {{"RAY_ADDRESS", ""}});
    EXPECT_EQ(r.code, 2) << command;
    EXPECT_THAT(r.err, HasSubstr("--address")) << command;
    RunResult help = Ray({command, "--help"});
    EXPECT_EQ(help.code, 0) << command;
    EXPECT_THAT(help.out, HasSubstr("Usage: ray " + std::string(command))) << command;
  }
  RunResult bad = Ray({"status", "--address", "127.0.0.1:1", "--format", "yaml"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.err, HasSubstr("--format must be text or json"));
  RunResult unreachable = Ray({"status", "--address", "127.0.0.1:1"}, {{"RAY_AUTH_TOKEN", "a-token-of-no-cluster"}});
  EXPECT_EQ(unreachable.code, 1) << unreachable.err;
}

/// The trace's rows: tid -> thread name, and pid -> process name.
struct TraceRows {
  std::map<int, std::string> threads;
  std::map<int, std::string> processes;
};

TraceRows RowsOf(const json& trace) {
  TraceRows rows;
  for (const auto& e : trace) {
    if (e.value("ph", "") != "M") continue;
    if (e.value("name", "") == "thread_name") rows.threads[e["tid"]] = e["args"]["name"];
    if (e.value("name", "") == "process_name") rows.processes[e["pid"]] = e["args"]["name"];
  }
  return rows;
}

/// The "X" events of `cat` (and name, when given).
std::vector<json> Spans(const json& trace, const std::string& cat, const std::string& name = "") {
  std::vector<json> out;
  for (const auto& e : trace) {
    if (e.value("ph", "") == "X" && e.value("cat", "") == cat &&
        (name.empty() || e.value("name", "") == name)) {
      out.push_back(e);
    }
  }
  return out;
}

void CheckTrace(const json& trace, const json& ids, const std::string& head) {
  ASSERT_TRUE(trace.is_array());
  // Every span has numeric, non-negative ts and dur.
  for (const auto& e : trace) {
    if (e.value("ph", "") != "X") continue;
    ASSERT_TRUE(e["ts"].is_number() && e["dur"].is_number()) << e.dump();
    EXPECT_GE(e["ts"].get<double>(), 0) << e.dump();
    EXPECT_GE(e["dur"].get<double>(), 0) << e.dump();
  }
  TraceRows rows = RowsOf(trace);
  // Each task:execute lies inside its task, on the same row.
  auto tasks = Spans(trace, "task");
  ASSERT_FALSE(tasks.empty());
  for (const auto& exec : Spans(trace, "task:execute")) {
    bool inside = false;
    for (const auto& task : tasks) {
      inside |= task["args"]["task_id"] == exec["args"]["task_id"] && task["tid"] == exec["tid"] &&
                task["ts"] <= exec["ts"] &&
                exec["ts"].get<int64_t>() + exec["dur"].get<int64_t>() <=
                    task["ts"].get<int64_t>() + task["dur"].get<int64_t>();
    }
    EXPECT_TRUE(inside) << exec.dump();
  }
  // The nested tasks show on the workers that ran them, on different nodes.
  auto outer = Spans(trace, "task", "Outer");
  auto inner = Spans(trace, "task", "Inner");
  ASSERT_EQ(outer.size(), 1u);
  ASSERT_EQ(inner.size(), 1u);
  EXPECT_THAT(rows.threads[outer[0]["tid"]], HasSubstr("worker:" + std::to_string(ids["outer_pid"].get<int>())));
  EXPECT_THAT(rows.threads[inner[0]["tid"]], HasSubstr("worker:" + std::to_string(ids["inner_pid"].get<int>())));
  EXPECT_NE(outer[0]["pid"], inner[0]["pid"]);
  auto say = Spans(trace, "task", "Talker::Say");
  ASSERT_EQ(say.size(), 1u);
  EXPECT_THAT(rows.threads[say[0]["tid"]], HasSubstr("worker:" + std::to_string(ids["actor_pid"].get<int>())));
  EXPECT_EQ(say[0]["args"]["actor_id"], ids["actor_id"]);
  // The ray.get inside Outer lies in its execution, on its row.
  bool nested_get = false;
  for (const auto& get : Spans(trace, "ray.get")) {
    nested_get |= get["tid"] == outer[0]["tid"] && get["ts"] >= outer[0]["ts"];
  }
  EXPECT_TRUE(nested_get);
  // ray::Profile spans, with their overrides and extra data, where they ran.
  auto load = Spans(trace, "load");
  ASSERT_EQ(load.size(), 1u);
  EXPECT_EQ(load[0]["name"], "shard 3");
  EXPECT_EQ(load[0]["cname"], "good");
  EXPECT_EQ(load[0]["args"]["rows"], "1200");
  EXPECT_GE(load[0]["dur"].get<int64_t>(), 15000);
  EXPECT_THAT(rows.threads[load[0]["tid"]], HasSubstr("driver:"));
  EXPECT_THAT(rows.processes[load[0]["pid"]], HasSubstr(head));
  auto span = Spans(trace, "inner_work", "inner span");
  ASSERT_EQ(span.size(), 1u);
  EXPECT_EQ(span[0]["tid"], inner[0]["tid"]);
  EXPECT_EQ(span[0]["args"]["task_id"], inner[0]["args"]["task_id"]);
  auto failing = Spans(trace, "failing");
  ASSERT_EQ(failing.size(), 1u);
  EXPECT_EQ(failing[0]["args"]["exception_type"], "std::runtime_error");
  EXPECT_EQ(failing[0]["args"]["exception_message"], "the span saw this");
  EXPECT_FALSE(Spans(trace, "submit_task").empty());
  EXPECT_FALSE(Spans(trace, "ray.put").empty());
}

/// The largest N of the "blocked tick N" lines in `text`; -1 when none.
int LastTick(const std::string& text) {
  int last = -1;
  for (size_t at = text.find("blocked tick "); at != std::string::npos;
       at = text.find("blocked tick ", at + 1)) {
    last = std::max(last, std::atoi(text.c_str() + at + 13));
  }
  return last;
}

class ObserveTest : public ClusterTest {
 protected:
  void CheckFollow(const json& status);
};

/// `ray logs --follow` of the blocked task's worker prints the ticks written after it started.
void ObserveTest::CheckFollow(const json& status) {
  std::string node;
  int pid = 0;
  for (const auto& n : status["nodes"]) {
    for (const auto& w : n["report"]["workers"]) {
      if (w["function"] == "ObserveTestBlockedInHere") {
        node = n["node_id"];
        pid = w["pid"];
      }
    }
  }
  ASSERT_GT(pid, 0) << status.dump();
  RunResult now = RayEnv({"logs", "--node", node, "--pid", std::to_string(pid)});
  ASSERT_EQ(now.code, 0) << now.err;
  const int seen = LastTick(now.out);
  ASSERT_GE(seen, 0) << now.out;
  // Without --node: the one node that has a worker of that pid is found.
  RunResult any_node = RayEnv({"logs", "--pid", std::to_string(pid)});
  ASSERT_EQ(any_node.code, 0) << any_node.err;
  EXPECT_GE(LastTick(any_node.out), seen) << any_node.out;
  RunResult nobody = RayEnv({"logs", "--pid", "999999999"});
  EXPECT_EQ(nobody.code, 1);
  EXPECT_THAT(nobody.err, HasSubstr("no node has a worker of pid 999999999"));
  const std::string followed = temp_dir_ + "/followed.txt";
  std::map<std::string, std::string> env = env_;
  pid_t follower = StartBackground({"/bin/sh", "-c",
                                    "exec " + std::string(RAY_CLI_PATH) + " logs --node " + node +
                                        " --pid " + std::to_string(pid) + " --follow > " + followed},
                                   env);
  // A tick two seconds later reaches the file: printed by --follow, not by the first read.
  std::string text;
  for (int i = 0; i < 100 && LastTick(text) < seen + 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::ifstream in(followed);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  kill(follower, SIGTERM);
  waitpid(follower, nullptr, 0);
  EXPECT_GE(LastTick(text), seen + 2) << text;
}

TEST_F(ObserveTest, ThreeNodeClusterShowsItsTasksActorsObjectsStacksAndLogs) {
  StartCluster();
  json ids = StartDriver();
  ASSERT_TRUE(ids.is_object()) << "the driver did not report";

  RunResult status = RayEnv({"status", "--format", "json"});
  ASSERT_EQ(status.code, 0) << status.err;
  json s = json::parse(status.out);
  ASSERT_EQ(s["nodes"].size(), 3u);
  for (const auto& node : s["nodes"]) EXPECT_EQ(node["state"], "ALIVE");
  EXPECT_EQ(s["actors_by_state"]["ALIVE"], 1);
  int infeasible = 0;
  for (const auto& node : s["nodes"]) {
    for (const auto& [shape, n] : node["report"]["infeasible_demand"].items()) {
      if (shape.find("GPU: 8") != std::string::npos) infeasible += n.get<int>();
    }
  }
  EXPECT_EQ(infeasible, 1) << status.out;
  RunResult text = RayEnv({"status"});
  EXPECT_THAT(text.out, HasSubstr("Alive:"));
  EXPECT_THAT(text.out, HasSubstr(address_ + " (head)"));
  EXPECT_THAT(text.out, HasSubstr("1/1 node_a"));  // the blocked task holds it
  EXPECT_THAT(text.out, HasSubstr("GPU: 8}: 1 infeasible"));

  RunResult memory = RayEnv({"memory", "--format", "json"});
  ASSERT_EQ(memory.code, 0) << memory.err;
  bool found = false;
  const json objects = json::parse(memory.out);
  for (const auto& node : objects["nodes"]) {
    for (const auto& o : node["report"].value("objects", json::array())) {
      if (o["object_id"] != ids["object_id"]) continue;
      found = true;
      EXPECT_EQ(o["where"], "shared_memory");
      EXPECT_GE(o["size"].get<int64_t>(), 3 << 20);
      EXPECT_EQ(o["made_by"], "ray::Put");
      EXPECT_TRUE(o["owner_holds_ref"].get<bool>());
      EXPECT_EQ(o["ref_count"], 1) << "the driver holds one ObjectRef";
      EXPECT_EQ(o["owner_process"]["component"], "driver");
    }
  }
  EXPECT_TRUE(found) << memory.out;
  EXPECT_THAT(RayEnv({"memory"}).out, HasSubstr(ids["object_id"].get<std::string>()));

  RunResult stack = RayEnv({"stack"});
  ASSERT_EQ(stack.code, 0) << stack.err;
  EXPECT_THAT(stack.out, HasSubstr("ObserveTestBlockedInHere"));
  EXPECT_THAT(stack.out, HasSubstr("running ObserveTestBlockedInHere"));

  RunResult logs = RayEnv({"logs", "--actor", ids["actor_id"]});
  ASSERT_EQ(logs.code, 0) << logs.err;
  EXPECT_THAT(logs.out, HasSubstr("talker says observe-marker-7"));
  CheckFollow(s);

  ASSERT_EQ(EndDriver(), 0);
  const std::string trace_path = temp_dir_ + "/trace.json";
  RunResult timeline = RayEnv({"timeline", "-o", trace_path});
  ASSERT_EQ(timeline.code, 0) << timeline.err;
  EXPECT_THAT(timeline.out, HasSubstr("Trace file written to " + trace_path));
  json trace = ReadJson(trace_path);
  CheckTrace(trace, ids, address_);

  // --job keeps that job's events only.
  auto outer = Spans(trace, "task", "Outer");
  ASSERT_EQ(outer.size(), 1u);
  const std::string job = outer[0]["args"]["job_id"];
  RunResult only = RayEnv({"timeline", "--job", job, "-o", trace_path});
  ASSERT_EQ(only.code, 0) << only.err;
  json filtered = ReadJson(trace_path);
  size_t spans = 0;
  for (const auto& e : filtered) {
    if (e["ph"] != "X" || !e["args"].contains("job_id")) continue;
    ++spans;
    EXPECT_EQ(e["args"]["job_id"], job) << e.dump();
  }
  EXPECT_GT(spans, 0u);
  EXPECT_EQ(RayEnv({"timeline", "--job", "xyz"}).code, 2);
}

}  // namespace
}  // namespace ray::cli::testing
