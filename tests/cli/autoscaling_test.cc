// The autoscaler on real processes: `ray up` of a fake_multinode cluster (a
// head of 1 CPU; a worker type of {CPU: 1}, 0 to 3 of them, a few seconds of
// idle timeout), then a driver whose tasks need more CPUs than the head has.
// Nodes are added up to the cap and never past it, the tasks finish, the
// nodes go once idle; a task no node type can hold launches nothing and is
// reported infeasible.
#include <gmock/gmock.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/cli/cli_fixture.h"
#include "tools/ray/registry.h"

namespace ray::cli::testing {
namespace {

using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

class AutoscalingTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    config_ = dir_.path() + "/fake.yaml";
    std::ofstream(config_) << "cluster_name: scale\n"
                              "max_workers: 3\n"
                              "idle_timeout_minutes: 0.1\n"  // 6 s
                              "provider: {type: fake_multinode}\n"
                              "available_node_types:\n"
                              "  head: {resources: {CPU: 1}}\n"
                              "  cpu_worker: {resources: {CPU: 1}, min_workers: 0, max_workers: 3}\n"
                              "head_node_type: head\n";
    env_ = {{"HOME", dir_.path() + "/home"},
            {"RAY_CLUSTER_DIR", dir_.path() + "/clusters"},
            {"RAY_AUTH_TOKEN", ""},
            {"RAY_AUTOSCALER_UPDATE_INTERVAL_S", "0.25"}};
  }
  void TearDown() override {
    if (HasFailure()) {
      // The autoscaler's log says what it decided and why.
      RunResult log = RunProgram({"/bin/bash", "-c", "cat " + dir_.path() +
                                  "/clusters/scale/nodes/fake-head/monitor-*.log " + state_dir_ +
                                  "/monitor-*.log"}, {});
      std::cout << "--- the autoscaler's log ---\n" << log.out << std::endl;
    }
    Ray({"down", "-y", config_}, env_);
    CliTest::TearDown();
  }

  RunResult Launcher(std::vector<std::string> args) { return Ray(std::move(args), env_); }

  /// `ray status --format json`, run on the head by `ray exec`.
  nlohmann::json Status() {
    RunResult status = Launcher({"exec", config_, "ray status --format json"});
    return status.code == 0 ? nlohmann::json::parse(status.out, nullptr, false) : nlohmann::json();
  }

  static int Alive(const nlohmann::json& status) {
    int n = 0;
    if (!status.is_object()) return -1;
    for (const auto& node : status["nodes"]) n += node["state"] == "ALIVE";
    return n;
  }

  std::string config_;
  std::map<std::string, std::string> env_;
};

// A head of {CPU: 0} (Ray's usual set-up: the head runs the GCS, the workers
// the work) adds nothing to the CPUs the demand can use: three 1-CPU tasks
// make the autoscaler start three workers, one for each.
TEST_F(AutoscalingTest, AHeadOfNoCpusGetsAWorkerForEachTask) {
  std::ofstream(config_) << "cluster_name: scale\n"
                            "max_workers: 3\n"
                            "idle_timeout_minutes: 0.1\n"
                            "provider: {type: fake_multinode}\n"
                            "available_node_types:\n"
                            "  head: {resources: {CPU: 0}}\n"
                            "  cpu_worker: {resources: {CPU: 1}, min_workers: 0, max_workers: 3}\n"
                            "head_node_type: head\n";
  RunResult up = Launcher({"up", "-y", config_});
  ASSERT_EQ(up.code, 0) << up.out << up.err;
  nlohmann::json status = Status();
  ASSERT_EQ(Alive(status), 1) << status.dump();
  EXPECT_EQ(status["nodes"][0]["resources_total"].value("CPU", -1.0), 0.0) << status.dump();
  RunResult burst =
      Launcher({"exec", config_, std::string(LAUNCHER_DRIVER_PATH) + " burst 3 4"});
  ASSERT_EQ(burst.code, 0) << burst.out << burst.err;
  EXPECT_THAT(burst.out, HasSubstr("burst: 3 tasks on ")) << "they ran, on workers";
  // The autoscaler saw three tasks of demand, not one, and started a worker
  // for each (which node then runs which task is the raylets' affair).
  auto count = [](const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  };
  std::string log;
  for (int i = 0; i < 100 && count(log, "started cpu_worker node") < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    log = RunProgram({"/bin/bash", "-c",
                      "cat " + dir_.path() + "/clusters/scale/nodes/fake-head/monitor-*.log"},
                     {})
              .out;
  }
  EXPECT_EQ(count(log, "launching a cpu_worker node: demand {CPU: 1}"), 3u) << log;
  EXPECT_EQ(count(log, "started cpu_worker node"), 3u) << log;
}

TEST_F(AutoscalingTest, AddsNodesForTheDemandUpToTheCapAndRemovesThemOnceIdle) {
  RunResult up = Launcher({"up", "-y", config_});
  ASSERT_EQ(up.code, 0) << up.out << up.err;
  EXPECT_THAT(up.out, HasSubstr("is up: 1 node(s) alive"));

  // 6 tasks of a CPU for 4 s each: the head runs one, the autoscaler adds 3.
  auto submitted = Clock::now();
  pid_t driver = StartBackground({"/bin/bash", "-c",
                                  std::string(RAY_CLI_PATH) + " exec " + config_ + " '" +
                                      LAUNCHER_DRIVER_PATH + " burst 6 4' > " + dir_.path() +
                                      "/burst.out 2>&1"},
                                 [&] {
                                   auto env = env_;
                                   env["RAY_STATE_DIR"] = state_dir_;
                                   return env;
                                 }());
  int most = 0;
  double first_new_node_s = -1;
  while (IsAlive(driver)) {
    int alive = Alive(Status());
    most = std::max(most, alive);
    if (alive > 1 && first_new_node_s < 0) {
      first_new_node_s = std::chrono::duration<double>(Clock::now() - submitted).count();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    ASSERT_LT(Clock::now() - submitted, std::chrono::seconds(90)) << "the burst did not finish";
  }
  std::string burst;
  ReadFile(dir_.path() + "/burst.out", &burst);
  EXPECT_THAT(burst, HasSubstr("burst: 6 tasks on 4 nodes")) << "the head and 3 new workers";
  EXPECT_EQ(most, 4) << "max_workers 3: never more than the head and 3 workers";
  std::cout << "from demand to a new node alive: " << first_new_node_s << " s" << std::endl;

  // The status shows the autoscaler's decisions and reasons.
  nlohmann::json status = Status();
  ASSERT_TRUE(status.contains("autoscaler")) << status.dump();
  EXPECT_THAT(status["autoscaler"]["decisions"].dump(),
              HasSubstr("demand {CPU: 1} fits no node's free resources"));
  RunResult text = Launcher({"exec", config_, "ray status"});
  EXPECT_THAT(text.out, HasSubstr("Autoscaler (fake_multinode"));
  EXPECT_THAT(text.out, HasSubstr("cpu_worker: "));
  EXPECT_THAT(text.out, HasSubstr("(min 0, max 3)"));
  EXPECT_THAT(text.out, HasSubstr("launch cpu_worker: demand {CPU: 1}"));

  // Idle for the timeout (6 s): back to the head alone.
  auto idle = Clock::now();
  while (Alive(Status()) != 1) {
    ASSERT_LT(Clock::now() - idle, std::chrono::seconds(60)) << Status().dump();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  double removal_s = std::chrono::duration<double>(Clock::now() - idle).count();
  std::cout << "from idle to the nodes removed: " << removal_s << " s" << std::endl;
  EXPECT_THAT(Status()["autoscaler"]["decisions"].dump(), HasSubstr("idle for"));

  // A task no node type can hold: reported infeasible, nothing launched.
  driver = StartBackground({RAY_CLI_PATH, "exec", config_,
                            std::string(LAUNCHER_DRIVER_PATH) + " infeasible 5"},
                           [&] {
                             auto env = env_;
                             env["RAY_STATE_DIR"] = state_dir_;
                             return env;
                           }());
  bool reported = false;
  while (IsAlive(driver) && !reported) {
    status = Status();
    EXPECT_EQ(Alive(status), 1) << "nothing is launched for it";
    reported = status.contains("autoscaler") &&
               status["autoscaler"]["infeasible"].dump().find("GPU: 8}") != std::string::npos;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_TRUE(reported) << status.dump();
  EXPECT_EQ(status["autoscaler"]["node_types"]["cpu_worker"]["starting"], 0);
  while (IsAlive(driver)) std::this_thread::sleep_for(std::chrono::milliseconds(100));

  RunResult down = Launcher({"down", "-y", config_});
  ASSERT_EQ(down.code, 0) << down.out << down.err;
  EXPECT_THAT(down.out, HasSubstr("stopped on"));
}

TEST_F(AutoscalingTest, TheAutoscalerConnectsWithTheHeadsRedisPassword) {
  // No token anywhere but --redis-password: the monitor must get that one.
  RunResult head = Ray({"start", "--head", "--port", "0", "--num-cpus", "1", "--temp-dir", temp_dir_,
                        "--redis-password", "s3cret-token-0123456", "--autoscaling-config", config_},
                       env_);
  ASSERT_EQ(head.code, 0) << head.err;
  std::string address = Between(head.out, "listening on ", ",");
  bool reported = false;
  for (int i = 0; i < 100 && !reported; ++i) {
    RunResult status = Ray({"status", "--address", address, "--redis-password", "s3cret-token-0123456",
                            "--format", "json"},
                           env_);
    reported = status.out.find("\"autoscaler\"") != std::string::npos;
    if (!reported) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(reported) << "the autoscaler never reached the GCS";
  RunResult cmdline = RunProgram({"/bin/bash", "-c", "cat /proc/$(pgrep -f '[r]ay monitor .*" +
                                  config_ + "')/cmdline | tr '\\0' ' '"}, {});
  EXPECT_THAT(cmdline.out, HasSubstr("monitor"));
  EXPECT_THAT(cmdline.out, ::testing::Not(HasSubstr("s3cret-token-0123456"))) << "never in its argv";
  EXPECT_EQ(Ray({"stop"}, env_).code, 0);
}

TEST_F(AutoscalingTest, ADamagedStateFileIsAnErrorNotAFreshStart) {
  std::string dir = dir_.path() + "/clusters/scale";
  RunProgram({"/bin/mkdir", "-p", dir}, {});
  std::ofstream(dir + "/state.json") << "{\"nodes\": [truncated";
  for (std::vector<std::string> args : {std::vector<std::string>{"exec", config_, "true"},
                                        {"down", "-y", config_},
                                        {"up", "-y", config_}}) {
    RunResult result = Launcher(args);
    EXPECT_EQ(result.code, 1) << args[0];
    EXPECT_THAT(result.err, HasSubstr(dir + "/state.json is damaged")) << args[0];
  }
  std::string kept;
  ReadFile(dir + "/state.json", &kept);
  EXPECT_EQ(kept, "{\"nodes\": [truncated") << "left as it was, for repair";
}

TEST_F(AutoscalingTest, ANodeThatFailsToStartIsRetriedWithBackoffAndReported) {
  std::string config = dir_.path() + "/bad.yaml";
  std::ofstream(config) << "cluster_name: bad\n"
                           "provider: {type: fake_multinode}\n"
                           "worker_start_ray_commands: ['echo cannot start here; exit 3']\n"
                           "available_node_types:\n"
                           "  head: {resources: {CPU: 1}}\n"
                           "  w: {resources: {CPU: 1}, min_workers: 1, max_workers: 1}\n"
                           "head_node_type: head\n";
  env_["RAY_AUTOSCALER_BACKOFF_S"] = "0.5";
  // `ray start --head --autoscaling-config`, without `ray up`: the autoscaler beside the head.
  RunResult head = Ray({"start", "--head", "--port", "0", "--num-cpus", "1", "--temp-dir", temp_dir_,
                        "--autoscaling-config", config},
                       env_);
  ASSERT_EQ(head.code, 0) << head.err;
  EXPECT_THAT(head.out, HasSubstr("Autoscaler (pid "));
  std::string address = Between(head.out, "listening on ", ",");
  nlohmann::json autoscaler = nlohmann::json::object();
  auto start = Clock::now();
  while (autoscaler.value("/node_types/w/failures"_json_pointer, 0) < 3) {
    ASSERT_LT(Clock::now() - start, std::chrono::seconds(30)) << autoscaler.dump();
    RunResult status = Ray({"status", "--address", address, "--format", "json"}, env_);
    auto report = nlohmann::json::parse(status.out, nullptr, false);
    if (report.is_object() && report.contains("autoscaler")) autoscaler = report["autoscaler"];
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_THAT(autoscaler["node_types"]["w"]["last_error"].get<std::string>(),
              HasSubstr("`echo cannot start here; exit 3` failed (exit status 3); its last "
                        "lines:\ncannot start here"));
  std::string decisions = autoscaler["decisions"].dump();
  EXPECT_THAT(decisions, HasSubstr("next try in 0 s")) << "0.5 s, then doubling";
  EXPECT_THAT(decisions, HasSubstr("next try in 1 s"));
  EXPECT_THAT(decisions, HasSubstr("next try in 2 s"));
  RunResult text = Ray({"status", "--address", address}, env_);
  EXPECT_THAT(text.out, HasSubstr("failed launch(es), next try in"));
  RunResult stop = Ray({"stop"}, env_);
  ASSERT_EQ(stop.code, 0) << stop.err;
  RunResult left = RunProgram({"/bin/bash", "-c", "pgrep -f '[r]ay monitor .*" + config + "' || true"}, {});
  EXPECT_EQ(left.out, "") << "ray stop stops the autoscaler too";
}

}  // namespace
}  // namespace ray::cli::testing
