// `ray start` / `ray stop` mechanics against fake_raynode (see there), so they are
// tested apart from the real node: flag mapping, failures, signals, the registry.
#include <chrono>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>

#include "tests/cli/cli_fixture.h"

namespace ray::cli::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class FakeNodes : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    // `ray` runs the raynode in its own directory: give this copy the fake one.
    std::filesystem::create_directories(dir_.path() + "/bin");
    std::filesystem::copy_file(RAY_CLI_PATH, RayPath());
    std::filesystem::copy_file(FAKE_RAYNODE_PATH, dir_.path() + "/bin/raynode");
  }
  std::string RayPath() const override { return dir_.path() + "/bin/ray"; }

  /// What the fake logged: its arguments as "arg: X" lines.
  std::string NodeLog(const RunResult& start) {
    std::ifstream in(Between(start.out, "logs in ", "\n"));
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
};

std::string Flag(const std::string& flag, const std::string& value) {
  return "arg: " + flag + "\narg: " + value + "\n";
}

TEST_F(FakeNodes, MapsRay07OptionsToRaynodeFlags) {
  RunResult start = Ray({"start",
                         "--head",
                         "--redis-port",
                         "0",
                         "--node-ip-address",
                         "127.0.0.1",
                         "--redis-password",
                         "pw",
                         "--num-redis-shards",
                         "3",
                         "--redis-max-clients",
                         "100",
                         "--redis-max-memory",
                         "1000000",
                         "--gcs-dir",
                         temp_dir_ + "/gcs",
                         "--object-manager-port",
                         "0",
                         "--object-store-memory",
                         "100000000",
                         "--num-cpus",
                         "2",
                         "--num-gpus",
                         "0.5",
                         "--resources",
                         "{\"Custom\": 2}",
                         "--plasma-directory",
                         temp_dir_,
                         "--huge-pages",
                         "--temp-dir",
                         temp_dir_,
                         "--internal-config",
                         "{\"num_heartbeats_timeout\": 10}",
                         "--load-code-from-local",
                         "--logging-level",
                         "debug"});
  ASSERT_EQ(start.code, 0) << start.err;
  std::string log = NodeLog(start);
  EXPECT_THAT(log, HasSubstr("arg: --head\n"));
  EXPECT_THAT(log, HasSubstr(Flag("--port", "0")));
  EXPECT_THAT(log, HasSubstr(Flag("--node-ip-address", "127.0.0.1")));
  EXPECT_THAT(log, HasSubstr(Flag("--password", "pw")));
  EXPECT_THAT(log, HasSubstr(Flag("--gcs-shards", "3")));
  EXPECT_THAT(log, HasSubstr(Flag("--max-clients", "100")));
  EXPECT_THAT(log, HasSubstr(Flag("--gcs-max-memory", "1000000")));
  EXPECT_THAT(log, HasSubstr(Flag("--gcs-dir", temp_dir_ + "/gcs")));
  EXPECT_THAT(log, HasSubstr(Flag("--object-manager-port", "0")));
  EXPECT_THAT(log, HasSubstr(Flag("--object-store-memory", "100000000")));
  EXPECT_THAT(log, HasSubstr(Flag("--num-cpus", "2")));
  EXPECT_THAT(log, HasSubstr(Flag("--num-gpus", "0.5")));
  EXPECT_THAT(log, HasSubstr(Flag("--resources", "{\"Custom\": 2}")));
  EXPECT_THAT(log, HasSubstr(Flag("--plasma-directory", temp_dir_)));
  EXPECT_THAT(log, HasSubstr("arg: --huge-pages\n"));
  EXPECT_THAT(log, HasSubstr(Flag("--temp-dir", temp_dir_)));
  EXPECT_THAT(log, HasSubstr("arg: --no-log-to-driver\n"));
  EXPECT_THAT(log, HasSubstr(Flag("--heartbeat-timeout-ms", "1000")));  // 10 beats x 100 ms
  EXPECT_THAT(log, HasSubstr("arg: --load-code-from-local\n"));
  EXPECT_THAT(log, HasSubstr(Flag("--logging-level", "debug")));
  EXPECT_THAT(log, HasSubstr("arg: --address-file\n"));
}

TEST_F(FakeNodes, JoiningNodeGetsTheHeadAddressAndAnyFreePort) {
  RunResult start =
      Ray({"start", "--redis-address", "127.0.0.1:7000", "--no-redirect-worker-output",
           "--internal-config", "{\"raylet_heartbeat_timeout_milliseconds\": 20}"});
  ASSERT_EQ(start.code, 0) << start.err;
  std::string log = NodeLog(start);
  EXPECT_THAT(log, HasSubstr(Flag("--address", "127.0.0.1:7000")));
  EXPECT_THAT(log, HasSubstr(Flag("--port", "0")));
  EXPECT_THAT(log, Not(HasSubstr("--no-log-to-driver")));
  EXPECT_THAT(log, HasSubstr(Flag("--heartbeat-timeout-ms", "1000")));  // 50 beats x 20 ms
  EXPECT_THAT(start.out, HasSubstr("RAY_ADDRESS=127.0.0.1:7000"));
}

TEST_F(FakeNodes, HeadListensOnRaysDefaultPort) {
  RunResult start = Ray({"start", "--head"});
  ASSERT_EQ(start.code, 0) << start.err;
  EXPECT_THAT(NodeLog(start), HasSubstr(Flag("--port", "6379")));
  EXPECT_THAT(start.out, HasSubstr("listening on 127.0.0.1:6379"));
}

TEST_F(FakeNodes, FailsWithTheLogWhenRaynodeExitsBeforeReady) {
  RunResult start = Ray({"start", "--head", "--port", "0"}, {{"FAKE_RAYNODE_FAIL", "1"}});
  EXPECT_EQ(start.code, 1);
  EXPECT_THAT(start.err, HasSubstr("fake raynode: failing on purpose"));
  EXPECT_THAT(start.err, HasSubstr("ray start: raynode (pid"));
  EXPECT_TRUE(RegistryRecords().empty());
}

TEST_F(FakeNodes, StopRemovesSegmentsAndRegistryButKeepsTheLog) {
  RunResult start = Ray({"start", "--head", "--port", "0"});
  ASSERT_EQ(start.code, 0) << start.err;
  pid_t pid = StartedPid(start.out);
  std::string segment = "ray_" + std::to_string(pid) + "_";
  ASSERT_FALSE(FilesWithPrefix("/dev/shm", segment).empty());
  RunResult stop = Ray({"stop"});
  EXPECT_EQ(stop.code, 0) << stop.err;
  EXPECT_THAT(stop.out, HasSubstr("Stopped 1 Ray node(s)"));
  EXPECT_FALSE(IsAlive(pid));
  EXPECT_TRUE(FilesWithPrefix("/dev/shm", segment).empty());
  EXPECT_EQ(FilesWithPrefix(state_dir_, "raynode-"),
            std::vector<std::string>{"raynode-" + std::to_string(pid) + ".log"});
}

TEST_F(FakeNodes, StopForceKillsANodeThatIgnoresSigterm) {
  RunResult start = Ray({"start", "--head", "--port", "0"}, {{"FAKE_RAYNODE_IGNORE_TERM", "1"}});
  ASSERT_EQ(start.code, 0) << start.err;
  RunResult stop = Ray({"stop", "--force"});
  EXPECT_EQ(stop.code, 0) << stop.err;
  EXPECT_THAT(stop.out, HasSubstr("Stopped 1"));
  EXPECT_FALSE(IsAlive(StartedPid(start.out)));
}

TEST_F(FakeNodes, StopWaitsTheGracePeriodThenForceKillsAndSaysSo) {
  RunResult start = Ray({"start", "--head", "--port", "0"}, {{"FAKE_RAYNODE_IGNORE_TERM", "1"}});
  ASSERT_EQ(start.code, 0) << start.err;
  auto began = std::chrono::steady_clock::now();
  RunResult stop = Ray({"stop", "--grace-period", "1"});
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  EXPECT_EQ(stop.code, 0) << stop.err;
  EXPECT_THAT(stop.out, HasSubstr("Stopped 1 Ray node(s) (1 force-killed after the 1 s grace period)"));
  EXPECT_GE(seconds, 0.9);
  EXPECT_FALSE(IsAlive(StartedPid(start.out)));  // gone when ray stop returns
  EXPECT_THAT(Ray({"stop", "--grace-period", "-1"}).err, HasSubstr("--grace-period must be"));
}

TEST_F(FakeNodes, StopLeavesAReusedPidAlone) {
  // A registry entry whose pid now belongs to another program.
  pid_t other = StartBackground({"/bin/sleep", "30"}, {});
  std::filesystem::create_directories(state_dir_);
  std::ofstream(state_dir_ + "/raynode-" + std::to_string(other) + ".json")
      << "{\"pid\": " << other << ", \"head\": true}\n";
  RunResult stop = Ray({"stop"});
  EXPECT_EQ(stop.code, 0) << stop.err;
  EXPECT_THAT(stop.out, HasSubstr("Stopped 0"));
  EXPECT_TRUE(IsAlive(other));
  EXPECT_TRUE(RegistryRecords().empty());
  kill(other, SIGKILL);
  waitpid(other, nullptr, 0);
}

TEST_F(FakeNodes, BlockRegistersThenBecomesRaynode) {
  pid_t pid = StartBackground({RayPath(), "start", "--head", "--port", "0", "--block"},
                              {{"RAY_STATE_DIR", state_dir_}});
  std::string address;
  ASSERT_TRUE(
      WaitForLine(state_dir_ + "/raynode-" + std::to_string(pid) + ".address", 10000, &address));
  EXPECT_EQ(RegistryRecords(),
            std::vector<std::string>{"raynode-" + std::to_string(pid) + ".json"});
  RunResult stop = Ray({"stop"});
  EXPECT_THAT(stop.out, HasSubstr("Stopped 1"));
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
}

}  // namespace
}  // namespace ray::cli::testing
