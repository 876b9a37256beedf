// `ray start` and `ray stop` with the real raynode next to `ray`.
#include <sys/stat.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/cli/cli_fixture.h"

namespace ray::cli::testing {
namespace {

using ::testing::HasSubstr;

using RayNodes = CliTest;

std::string SegmentPrefix(pid_t pid) { return "ray_" + std::to_string(pid) + "_"; }

TEST_F(RayNodes, StartsHeadAndJoiningNodeThenStopsBoth) {
  const std::vector<std::string> common = {"--num-cpus", "1",          "--object-store-memory",
                                           "100000000",  "--temp-dir", temp_dir_};
  std::vector<std::string> start_head = {"start", "--head", "--port", "0"};
  start_head.insert(start_head.end(), common.begin(), common.end());
  RunResult head = Ray(start_head);
  ASSERT_EQ(head.code, 0) << head.err;
  const std::string address = Between(head.out, "listening on ", ",");
  const pid_t head_pid = StartedPid(head.out);
  ASSERT_GT(head_pid, 0) << head.out;
  ASSERT_THAT(address, HasSubstr(":"));
  EXPECT_THAT(head.out, HasSubstr("config.address = \"" + address + "\""));
  EXPECT_THAT(head.out, HasSubstr("RAY_ADDRESS=" + address));
  EXPECT_THAT(head.out, HasSubstr("ray start --address=" + address));
  EXPECT_THAT(head.out, HasSubstr("ray stop"));

  std::vector<std::string> join = {"start", "--address=" + address};
  join.insert(join.end(), common.begin(), common.end());
  RunResult node = Ray(join);
  ASSERT_EQ(node.code, 0) << node.err;
  const pid_t node_pid = StartedPid(node.out);
  ASSERT_GT(node_pid, 0) << node.out;
  EXPECT_THAT(node.out, HasSubstr("RAY_ADDRESS=" + address));  // drivers go to the head
  EXPECT_TRUE(IsAlive(head_pid));
  EXPECT_TRUE(IsAlive(node_pid));
  EXPECT_FALSE(FilesWithPrefix("/dev/shm", SegmentPrefix(head_pid)).empty());
  EXPECT_EQ(RegistryRecords().size(), 2u);

  RunResult stop = Ray({"stop"});
  EXPECT_EQ(stop.code, 0) << stop.err;
  EXPECT_THAT(stop.out, HasSubstr("Stopped 2"));
  for (pid_t pid : {head_pid, node_pid}) {
    EXPECT_FALSE(IsAlive(pid)) << pid;
    EXPECT_TRUE(FilesWithPrefix("/dev/shm", SegmentPrefix(pid)).empty()) << pid;
  }
  EXPECT_TRUE(RegistryRecords().empty());
}

TEST_F(RayNodes, StartHeadMakesAPrivateAuthTokenThatJoiningNodesUse) {
  const std::string home = temp_dir_ + "/home";
  std::map<std::string, std::string> env = {{"HOME", home}, {"RAY_AUTH_TOKEN", ""}};
  RunResult none = Ray({"get-auth-token"}, env);
  EXPECT_EQ(none.code, 1);
  EXPECT_THAT(none.err, HasSubstr("--generate"));
  RunResult head = Ray({"start", "--head", "--port", "0", "--num-cpus", "1",
                        "--object-store-memory", "100000000", "--temp-dir", temp_dir_},
                       env);
  ASSERT_EQ(head.code, 0) << head.err;
  struct stat st {};
  ASSERT_EQ(stat((home + "/.ray/auth_token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  RunResult token = Ray({"get-auth-token"}, env);
  ASSERT_EQ(token.code, 0) << token.err;
  EXPECT_GE(token.out.size(), 33u);  // 128 bits or more, hex, and a newline
  const std::string address = Between(head.out, "listening on ", ",");
  // Same host, same HOME: the joining node finds the token by itself...
  RunResult node = Ray({"start", "--address=" + address, "--object-store-memory", "100000000",
                        "--temp-dir", temp_dir_},
                       env);
  EXPECT_EQ(node.code, 0) << node.err;
  // ...and one with another HOME and no token is refused, saying what to do.
  RunResult stranger = Ray({"start", "--address=" + address, "--object-store-memory",
                            "100000000", "--temp-dir", temp_dir_},
                           {{"HOME", temp_dir_ + "/stranger"}, {"RAY_AUTH_TOKEN", ""}});
  EXPECT_NE(stranger.code, 0);
  EXPECT_THAT(stranger.err + stranger.out, HasSubstr("requires an auth token"));
  EXPECT_EQ(Ray({"stop"}).code, 0);
}

// A head of `--num-cpus 0` (the GCS and the dashboard, no work) has no CPU:
// only a count that is not given means the machine's cores. Its CPU tasks
// wait for a node that has one; on a cluster of one CPU they run one at a time.
TEST_F(RayNodes, AHeadOfZeroCpusRunsNoCpuTaskAndOneCpuRunsThemOneAtATime) {
  const std::vector<std::string> common = {"--object-store-memory", "100000000", "--temp-dir",
                                           temp_dir_};
  std::vector<std::string> start_head = {"start", "--head", "--port", "0", "--num-cpus", "0"};
  start_head.insert(start_head.end(), common.begin(), common.end());
  RunResult head = Ray(start_head);
  ASSERT_EQ(head.code, 0) << head.err;
  const std::string address = Between(head.out, "listening on ", ",");
  auto cpus = [&] {
    RunResult status = Ray({"status", "--format", "json", "--address", address});
    auto report = nlohmann::json::parse(status.out, nullptr, false);
    double total = -1;
    if (report.is_object() && report["nodes"].is_array()) {
      total = 0;
      for (const auto& node : report["nodes"]) {
        total += node.value("resources_total", nlohmann::json::object()).value("CPU", 0.0);
      }
    }
    return total;
  };
  EXPECT_EQ(cpus(), 0.0) << "the head declared none";
  RunResult text = Ray({"status", "--address", address});
  EXPECT_THAT(text.out, HasSubstr("0/0 CPU")) << text.out;

  std::map<std::string, std::string> driver_env = {{"RAY_ADDRESS", address}};
  RunResult none = RunProgram({LAUNCHER_DRIVER_PATH, "spans", "1", "0", "3"}, driver_env);
  EXPECT_EQ(none.code, 0) << none.err;
  EXPECT_THAT(none.out, HasSubstr("spans: 0 of 1 finished")) << "no CPU, no CPU task";

  std::vector<std::string> join = {"start", "--address=" + address, "--num-cpus", "1"};
  join.insert(join.end(), common.begin(), common.end());
  ASSERT_EQ(Ray(join).code, 0);
  EXPECT_EQ(cpus(), 1.0);
  RunResult three = RunProgram({LAUNCHER_DRIVER_PATH, "spans", "3", "1", "60"}, driver_env);
  EXPECT_EQ(three.code, 0) << three.err;
  EXPECT_THAT(three.out, HasSubstr("spans: 3 of 3 finished, at most 1 at once")) << three.out;
  EXPECT_EQ(Ray({"stop"}).code, 0);
}

}  // namespace
}  // namespace ray::cli::testing
