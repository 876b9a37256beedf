// Chaos: a job of tasks in chains and trees runs on three real raynodes while
// worker processes are killed at random and one non-head node is killed with
// SIGKILL; every result must be correct. The CI runs a bounded job
// (2,000 tasks); RAY_CHAOS_TASKS=10000 runs the long one.
#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <ray/api.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/cluster/node_process.h"

namespace {

int64_t ChainStep(int64_t x) { return (x * 31 + 7) % 1000003; }
int64_t TreeLeaf(int64_t i) { return (i * i) % 1009; }
int64_t TreeAdd(int64_t a, int64_t b) { return (a + b) % 1000003; }

RAY_REMOTE(ChainStep, TreeLeaf, TreeAdd);

using ray::test::NodeProcess;

/// Pids of the processes whose parent is one of `parents` (the nodes' workers).
std::vector<pid_t> ChildrenOf(const std::set<pid_t>& parents) {
  std::vector<pid_t> out;
  DIR* d = opendir("/proc");
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    pid_t pid = static_cast<pid_t>(std::atol(e->d_name));
    if (pid <= 0) continue;
    std::ifstream stat("/proc/" + std::string(e->d_name) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    char state = 0;
    int ppid = 0;
    if (std::sscanf(line.c_str() + close + 1, " %c %d", &state, &ppid) != 2) continue;
    if (state != 'Z' && parents.count(ppid)) out.push_back(pid);
  }
  closedir(d);
  return out;
}

TEST(ClusterChaos, ChainsAndTreesFinishCorrectlyWhileWorkersAndANodeAreKilled) {
  int total = 2000;
  if (const char* env = std::getenv("RAY_CHAOS_TASKS")) total = std::atoi(env);
  NodeProcess head, b, c;
  std::vector<std::string> common = {"--num-cpus", "2", "--object-store-memory", "300000000",
                                     "--heartbeat-timeout-ms", "2000"};
  ASSERT_TRUE(head.Start(common)) << head.log();
  std::vector<std::string> join = common;
  join.insert(join.end(), {"--address", head.address()});
  ASSERT_TRUE(b.Start(join)) << b.log();
  ASSERT_TRUE(c.Start(join)) << c.log();
  ray::RayConfig config;
  config.address = head.address();
  config.log_to_driver = false;
  ray::Init(config);

  std::atomic<bool> done{false};
  std::atomic<int> worker_kills{0};
  std::atomic<bool> node_killed{false};
  pid_t b_pid = b.pid();
  auto start = std::chrono::steady_clock::now();
  std::thread killer([&] {
    std::mt19937 rng(12345);
    while (!done) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % 80));
      if (done) break;
      std::set<pid_t> nodes = {head.pid(), c.pid()};
      if (!node_killed) nodes.insert(b_pid);
      auto workers = ChildrenOf(nodes);
      if (workers.empty()) continue;
      kill(workers[rng() % workers.size()], SIGKILL);
      ++worker_kills;
    }
  });

  // Half the tasks in chains of 50, half in binary trees of 64 leaves (127 tasks).
  struct Check {
    ray::ObjectRef<int64_t> ref;
    int64_t expected;
  };
  std::vector<Check> checks;
  int submitted = 0;
  int64_t seed = 1;
  while (submitted < total) {
    if ((submitted / 127) % 2 == 0) {
      int64_t x = seed++, expected = x;
      auto ref = ray::Task(ChainStep).SetMaxRetries(10).Remote(x);
      expected = ChainStep(expected);
      for (int i = 1; i < 50; ++i) {
        ref = ray::Task(ChainStep).SetMaxRetries(10).Remote(ref);
        expected = ChainStep(expected);
      }
      submitted += 50;
      checks.push_back({ref, expected});
    } else {
      std::vector<ray::ObjectRef<int64_t>> level;
      std::vector<int64_t> values;
      for (int i = 0; i < 64; ++i) {
        level.push_back(ray::Task(TreeLeaf).SetMaxRetries(10).Remote(seed + i));
        values.push_back(TreeLeaf(seed + i));
      }
      seed += 64;
      while (level.size() > 1) {
        std::vector<ray::ObjectRef<int64_t>> next;
        std::vector<int64_t> next_values;
        for (size_t i = 0; i + 1 < level.size(); i += 2) {
          next.push_back(ray::Task(TreeAdd).SetMaxRetries(10).Remote(level[i], level[i + 1]));
          next_values.push_back(TreeAdd(values[i], values[i + 1]));
        }
        level = std::move(next);
        values = std::move(next_values);
      }
      submitted += 127;
      checks.push_back({level[0], values[0]});
    }
  }
  // Node b dies at a random moment while results come in.
  std::mt19937 rng(std::random_device{}());
  size_t kill_node_after = 1 + rng() % std::max<size_t>(1, checks.size() / 2);
  int correct = 0;
  for (size_t i = 0; i < checks.size(); ++i) {
    if (i == kill_node_after) {
      node_killed = true;
      b.Signal(SIGKILL);
    }
    auto& check = checks[i];
    try {
      int64_t got = *ray::Get(check.ref, 120000);
      EXPECT_EQ(got, check.expected);
      correct += got == check.expected ? 1 : 0;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "result " << i << " failed: " << e.what();
    }
  }
  done = true;
  killer.join();
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("chaos: %d tasks (%zu chains and trees, all results checked: %d correct) in "
              "%.1f s; %d worker processes killed; node b killed after %zu results\n",
              submitted, checks.size(), correct, seconds, worker_kills.load(), kill_node_after);
  EXPECT_TRUE(node_killed);
  EXPECT_GT(worker_kills.load(), 0);
  ray::Shutdown();
}

}  // namespace
