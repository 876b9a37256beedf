// `ray start` and `ray stop` with the real raynode next to `ray`.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace ray::cli::testing
